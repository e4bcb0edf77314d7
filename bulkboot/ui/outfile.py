"""Output files (``--report``, and any later one such as ``--html``): checked before the
first request, written atomically, only ever to a regular file.

Why checked first: a report path that cannot be written used to be found once the whole
fleet was built, and then exited 2 ("nothing was created"). Now ``check_output_path``
runs with the other checks of the command line, before anything is sent: a folder that
does not exist, a folder bulkboot cannot write in (tried for real, with a temporary
file), a path that is a directory, a symbolic link, a FIFO or a device (``/dev/full``)
is refused there, exit 2.

Why atomically: a report is read by programs; a half-written one is worse than none,
and replacing whatever sat at the path (a symlink to somewhere else, a FIFO that
blocks) is a surprise. ``write_atomically`` writes a temporary file in the same folder,
flushes it to disk, and renames it over the path, so the path holds the old file or the
new one, whole. A failure then (a full disk) is an ``OutputError``, exit 1: the run's
servers and its journal are as the run left them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from bulkboot.errors import OutputError, UsageError

__all__ = ["check_output_path", "write_atomically"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(info: os.stat_result) -> str | None:
    """What a path is when it is not a regular file, in words; None when it is one."""
    for test, words in _KINDS:
        if test(info.st_mode):
            return words
    return None if stat.S_ISREG(info.st_mode) else "not a regular file"


def _existing(target: Path) -> os.stat_result | None:
    """The path's own status (a link is not followed); None when nothing is there."""
    try:
        return os.lstat(target)
    except FileNotFoundError:
        return None


def check_output_path(path: str, *, flag: str) -> Path:
    """The path ``flag`` names, once it is known to take a file; ``UsageError`` if not.

    Called before the first request. Creates (and removes) a temporary file beside the
    path, which is what writing the report will do.
    """
    if not path:
        raise UsageError(f"{flag}: the path is empty")
    target = Path(path)
    refused = f"{flag} {path}:"
    try:
        info = _existing(target)
    except OSError as exc:
        raise UsageError(f"{refused} {exc.strerror or exc}") from None
    if info is not None:
        kind = _not_regular(info)
        if kind is not None:
            raise UsageError(
                f"{refused} is {kind}; bulkboot writes output only to a regular file "
                "(or to a new path)"
            )
    folder = target.parent
    try:
        folder_info = os.stat(folder)
    except FileNotFoundError:
        raise UsageError(f"{refused} the folder {folder} does not exist") from None
    except OSError as exc:
        raise UsageError(f"{refused} {folder}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(folder_info.st_mode):
        raise UsageError(f"{refused} {folder} is not a folder")
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{refused} cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(descriptor)
    os.unlink(probe)
    return target


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for a moment,
    for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def write_atomically(
    path: str | os.PathLike[str], data: bytes, *, what: str, mode: int | None = None
) -> None:
    """Replace the regular file at ``path`` (or create it) with ``data``, whole or not at
    all. ``what`` names the file in messages ("the report"). ``OutputError`` on failure.

    The file gets ``mode`` when given; else it keeps the mode of the one it replaces,
    and a new one gets the usual mode (0666 less the umask), as ``open`` would give it.
    """
    target = Path(path)
    try:
        info = _existing(target)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {target}: {exc.strerror or exc}") from None
    if info is not None and (kind := _not_regular(info)) is not None:
        raise OutputError(f"cannot write {what} {target}: it is {kind} now, not a regular file")
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    temporary: str | None = None
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        temporary = None
        _sync_folder(target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {target}: {exc.strerror or exc}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system allows it)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
