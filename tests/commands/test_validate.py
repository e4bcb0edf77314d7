"""``bulkboot validate``: the summary, every problem on stderr, exit codes, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_valid_manifest_prints_one_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "defaults: {image: cirros, flavor: m1.small}\n"
        "servers:\n"
        "  - {name: 'web-{index}', count: 3}\n"
        "  - {name: 'batch-{index}', count: 2, max_count: 4}\n"
        "  - {name: db}\n"
    )
    assert run(capsys, str(path)) == (
        0,
        "lab: 12 servers in 3 groups, valid for compute 2.104\n",
        "",
    )


def test_microversion_flag_overrides_the_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("microversion: 2.60\nservers:\n  - {name: a, image: c, flavor: f, tags: [x]}\n")
    assert run(capsys, str(path)) == (0, "lab: 1 server in 1 group, valid for compute 2.60\n", "")
    code, out, err = run(capsys, str(path), "--microversion", "2.51")
    assert (code, out) == (2, "")
    assert err == (
        f"{path}:3:42: a: 'tags' needs compute 2.52 or later; validating for 2.51\n"
        "bulkboot: 1 problem; nothing was sent\n"
    )


def test_structural_and_rule_problems_are_reported_together_in_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "servers:\n"
        "  - name: a\n"
        "    image: c\n"
        "    flavour: f\n"  # structural: unknown key (not also "flavor is required")
        "  - name: b\n"
        "    image: c\n"
        "    flavor: f\n"
        "    disk_config: auto\n"  # a rule
        "    config_drive: perhaps\n"  # structural, in the same group
        "    tags: [a/b]\n"  # a rule again
    )
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}:4:5: a: unknown key 'flavour' in a group: did you mean 'flavor'?",
        f"{path}:8:18: b: disk_config must be AUTO or MANUAL, got 'auto'",
        f"{path}:9:19: b: config_drive: must be a boolean (true or false), got a string 'perhaps'",
        f"{path}:10:12: b: tag 'a/b' must not contain '/' or ','",
        "bulkboot: 4 problems; nothing was sent",
    ]


@pytest.mark.parametrize("content", [b"", b"\x00\xff junk", b"[1, 2", b"servers: {a: 1}"])
def test_bad_files_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(str(path))
    assert "Traceback" not in err and "internal error" not in err


def test_a_directory_or_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert err.startswith(f"{tmp_path}: cannot read the manifest: Is a directory\n")
    code, _, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "No such file or directory" in err


def test_a_bad_microversion_flag_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(tmp_path / "x.yaml"), "--microversion", "two")
    assert code == 2
    assert err == (
        "bulkboot: error: --microversion: 'two' is not a microversion: expected 'auto' or "
        "'2.N', like '2.74'\n"
    )


def test_admin_pass_never_appears_in_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "servers:\n  - {name: ' a', image: c, flavor: f, admin_pass: s3cr3t-Pa55, swap: 0}\n"
    )
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert "s3cr3t" not in err
