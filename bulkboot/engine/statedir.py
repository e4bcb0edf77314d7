"""Where a fleet's local state lives (its journal and its lock), and opening it safely.

A fleet is its name on a cloud: ``lab`` on cloud ``prod`` and ``lab`` on cloud ``dev``
are two fleets, with two journals and two locks, never one. The files are
``<base>/<cloud>/<fleet>.jsonl`` and ``<fleet>.lock``, where ``<base>`` is
``.bulkboot/`` beside the manifest, or the directory the user names (``--state-dir``,
``BULKBOOT_STATE_DIR``).

File names are made from names users write, so they are made safe (``safe_name``):
a name that is already lower-case ASCII letters, digits, ``.``, ``_`` and ``-`` is
kept as it is; any other keeps a readable part and gains a short hash of the exact
name, so two names that differ only outside ASCII (``café`` and ``cafe``), or only
in case (on a file system that ignores case), never share a file.

A file of the state directory that is rewritten (the journal, when it is compacted)
is replaced whole, crash-safe: ``replace_in_state``.

Nothing here follows a symbolic link below ``<base>``: each directory is opened with
``O_NOFOLLOW`` relative to its parent, and the file relative to its directory, so a
link planted at ``.bulkboot`` or at the journal cannot make bulkboot write elsewhere.
The ``<base>`` itself is the user's to choose and is taken as it is.

Before journals were per cloud, the journal was ``.bulkboot/<fleet>.jsonl`` beside
the manifest; ``legacy_journal`` finds it, and ``adopt_legacy`` moves it to its new
place when it belongs to the cloud at hand.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bulkboot.errors import JournalError

__all__ = [
    "StatePaths",
    "adopt_legacy",
    "legacy_clouds",
    "legacy_journal",
    "open_in_state",
    "replace_in_state",
    "safe_name",
    "state_paths",
]

_SAFE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_OLD_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # the rule of the per-fleet journal name
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def safe_name(name: str) -> str:
    """A file name for ``name``: itself when safe, else a readable part and a hash."""
    if _SAFE.fullmatch(name) and not name.endswith("."):
        return name
    readable = _UNSAFE_RUN.sub("_", name).strip("._-")[:60] or "x"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatePaths:
    """A fleet's state files. ``base`` is taken as it is; ``parts`` are the directories
    below it that bulkboot makes and opens without following links."""

    base: Path
    parts: tuple[str, ...]
    stem: str  # the fleet's file-safe name
    cloud: str
    fleet: str

    @property
    def directory(self) -> Path:
        return self.base.joinpath(*self.parts)

    @property
    def journal(self) -> Path:
        return self.directory / f"{self.stem}.jsonl"

    @property
    def lock(self) -> Path:
        return self.directory / f"{self.stem}.lock"


def state_paths(
    manifest_path: str | os.PathLike[str],
    *,
    cloud: str,
    fleet: str,
    state_dir: str | os.PathLike[str] | None = None,
) -> StatePaths:
    """The state files of ``fleet`` on ``cloud``: under ``state_dir`` when given, else
    under ``.bulkboot/`` beside the manifest."""
    parts: tuple[str, ...]
    if state_dir is not None:
        base, parts = Path(state_dir).expanduser().absolute(), (safe_name(cloud),)
    else:
        base = Path(manifest_path).absolute().parent
        parts = (".bulkboot", safe_name(cloud))
    return StatePaths(base=base, parts=parts, stem=safe_name(fleet), cloud=cloud, fleet=fleet)


def _open_directory(paths: StatePaths, *, create: bool) -> int | None:
    """A descriptor of the state directory, each part opened without following links;
    None when it does not exist and ``create`` is False."""
    try:
        fd = os.open(paths.base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except FileNotFoundError:
        if not create:
            return None
        try:
            paths.base.mkdir(parents=True, exist_ok=True)
            fd = os.open(paths.base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError as exc:
            why = _why(exc)
            raise JournalError(f"cannot make the state directory {paths.base}: {why}") from exc
    except OSError as exc:
        raise JournalError(f"cannot open the state directory {paths.base}: {_why(exc)}") from exc
    where = paths.base
    for part in paths.parts:
        where = where / part
        try:
            if create:
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                except FileExistsError:
                    pass
            inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            os.close(fd)
            if not create:
                return None
            raise JournalError(f"cannot open the state directory {where}: it vanished") from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise JournalError(
                    f"{where} is not a directory (a symbolic link?): bulkboot keeps the "
                    "fleet's journal there and follows no link; remove it, or give "
                    "--state-dir"
                ) from None
            raise JournalError(f"cannot open the state directory {where}: {_why(exc)}") from exc
        os.close(fd)
        fd = inner
    return fd


def open_in_state(paths: StatePaths, name: str, flags: int, *, create: bool) -> int | None:
    """``os.open`` of the file ``name`` in the state directory, following no link.

    ``create`` makes the directories first (``flags`` say whether the file may be
    created); a missing directory or file is None. A link in the file's place is a
    ``JournalError``.
    """
    directory = _open_directory(paths, create=create)
    if directory is None:
        return None
    try:
        return os.open(name, flags | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise JournalError(
                f"{paths.directory / name} is a symbolic link: bulkboot follows none in "
                "its state directory; remove it"
            ) from None
        raise JournalError(f"cannot open {paths.directory / name}: {_why(exc)}") from exc
    finally:
        os.close(directory)


def _no_step(name: str) -> None:
    pass


def replace_in_state(
    paths: StatePaths,
    name: str,
    data: bytes,
    *,
    expect_size: int | None = None,
    step: Callable[[str], None] | None = None,
) -> None:
    """Replace the file ``name`` of the state directory with ``data``, whole: a crash at
    any moment leaves the old file or the new one, never a part of either.

    ``data`` goes to a temporary file beside it (``.NAME.new``: a leftover of a crash
    is removed first), which is flushed to disk, renamed over ``name``, and the folder
    flushed so the rename itself survives a machine crash. Nothing is followed through
    a link. ``expect_size``: the size the file must still have just before the rename
    (the caller read it whole; a change means someone else wrote, and nothing is
    replaced). ``step`` is told each step before it is taken ("write", "fsync",
    "rename", "fsync-directory"): tests stop there. A failure is a ``JournalError``,
    the file as it was.
    """
    tell = step or _no_step
    directory = _open_directory(paths, create=False)
    if directory is None:
        raise JournalError(f"cannot replace {paths.directory / name}: its folder is gone")
    temporary = f".{name}.new"
    try:
        try:
            os.unlink(temporary, dir_fd=directory)
        except FileNotFoundError:
            pass
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
            0o600,
            dir_fd=directory,
        )
        try:
            tell("write")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            tell("fsync")
            os.fsync(fd)
        finally:
            os.close(fd)
        if expect_size is not None:
            now = os.stat(name, dir_fd=directory, follow_symlinks=False).st_size
            if now != expect_size:
                os.unlink(temporary, dir_fd=directory)
                raise JournalError(
                    f"{paths.directory / name} changed while it was being rewritten "
                    f"({expect_size} bytes, then {now}): left as it is"
                )
        tell("rename")
        os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        tell("fsync-directory")
        os.fsync(directory)
    except OSError as exc:
        try:
            os.unlink(temporary, dir_fd=directory)
        except OSError:
            pass
        raise JournalError(f"cannot rewrite {paths.directory / name}: {_why(exc)}") from exc
    finally:
        os.close(directory)


def legacy_journal(manifest_path: str | os.PathLike[str], fleet: str) -> Path:
    """Where the journal was before journals were per cloud: ``.bulkboot/<fleet>.jsonl``."""
    safe = _OLD_UNSAFE.sub("_", fleet).strip("._") or "fleet"
    return Path(manifest_path).absolute().parent / ".bulkboot" / f"{safe}.jsonl"


def legacy_clouds(path: Path) -> set[str]:
    """The clouds the old journal's ``run`` lines name (each command wrote one)."""
    clouds: set[str] = set()
    with path.open("rb") as lines:
        for raw in lines:
            if b'"run"' not in raw:  # a cheap test first: journals are long
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("cloud"), str):
                clouds.add(record["cloud"])
    return clouds


def adopt_legacy(paths: StatePaths, manifest_path: str | os.PathLike[str]) -> str | None:
    """Move the fleet's old journal to its new place when it is this cloud's; a note
    saying what was done, or None when there was nothing to do.

    Moved only when the new journal does not exist yet, the old one is a regular file,
    and every ``run`` line in it names this cloud (or there is none): a journal of the
    same fleet name on another cloud is left where it is, for that cloud to take.
    """
    old = legacy_journal(manifest_path, paths.fleet)
    try:
        if old.is_symlink() or not old.is_file() or old == paths.journal:
            return None
        clouds = legacy_clouds(old)
    except OSError:
        return None
    if clouds - {paths.cloud}:
        return (
            f"{old}: a journal of fleet {paths.fleet!r} from an older bulkboot, written for "
            f"cloud {', '.join(sorted(clouds))}; left where it is (journals are now kept "
            "per cloud and fleet)"
        )
    fd = open_in_state(paths, paths.journal.name, os.O_RDONLY, create=True)
    if fd is not None:  # a journal in the new place already: it is the one in use
        os.close(fd)
        return (
            f"{old}: a journal of fleet {paths.fleet!r} from an older bulkboot, beside the "
            f"one in use ({paths.journal}); left alone"
        )
    try:
        shutil.move(old, paths.journal)
    except OSError as exc:
        raise JournalError(
            f"cannot move the journal {old} to {paths.journal}: {_why(exc)}"
        ) from exc
    return (
        f"the journal of fleet {paths.fleet!r} moved from {old} to {paths.journal} "
        "(journals are now kept per cloud and fleet)"
    )


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
