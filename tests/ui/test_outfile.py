"""bulkboot/ui/outfile.py: output paths checked first, files replaced whole, only regular."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bulkboot.errors import OutputError, UsageError
from bulkboot.ui.outfile import check_output_path, write_atomically


def _refused(path: str) -> str:
    with pytest.raises(UsageError) as info:
        check_output_path(path, flag="--report")
    return str(info.value)


def test_a_new_or_regular_file_in_a_writable_folder_is_accepted(tmp_path: Path) -> None:
    assert check_output_path(str(tmp_path / "new.json"), flag="--report") == tmp_path / "new.json"
    old = tmp_path / "old.json"
    old.write_text("{}")
    check_output_path(str(old), flag="--report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # the probe is gone


def test_what_cannot_take_a_report_is_refused_before_anything(tmp_path: Path) -> None:
    assert _refused(str(tmp_path / "nope" / "r.json")) == (
        f"--report {tmp_path}/nope/r.json: the folder {tmp_path}/nope does not exist"
    )
    (tmp_path / "file").write_text("x")
    assert "Not a directory" in _refused(str(tmp_path / "file" / "r.json"))
    assert _refused(str(tmp_path)).endswith(
        "is a directory; bulkboot writes output only to a regular file (or to a new path)"
    )
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "is a FIFO;" in _refused(str(fifo))
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    assert "is a symbolic link;" in _refused(str(link))
    assert "is a character device;" in _refused(str(device_like_dev_full(tmp_path)))
    assert _refused("") == "--report: the path is empty"


def device_like_dev_full(folder: Path) -> Path:
    """A device node like /dev/full, in the test's folder: a broken build that wrote
    through it must not break the machine's own /dev/full (the rename replaces it)."""
    path = folder / "full"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def test_written_whole_keeping_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomically(target, b"first\n", what="the report")
    assert target.read_bytes() == b"first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    target.chmod(0o600)
    write_atomically(target, b"second\n", what="the report")
    assert target.read_bytes() == b"second\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_what_became_a_link_or_a_fifo_since_the_check_is_not_written_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "r.json"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="it is a symbolic link now"):
        write_atomically(link, b"report", what="the report")
    assert victim.read_text() == "precious" and link.is_symlink()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "r.json"
    target.write_text("old")
    os.rename(folder, tmp_path / "moved")  # the folder went away during the run
    with pytest.raises(OutputError) as info:
        write_atomically(target, b"new", what="the report")
    assert str(info.value) == f"cannot write the report {target}: No such file or directory"
    assert info.value.exit_code == 1
    assert [p.name for p in (tmp_path / "moved").iterdir()] == ["r.json"]
    assert (tmp_path / "moved" / "r.json").read_text() == "old"
