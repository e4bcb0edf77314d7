"""``bulkboot simulator --write-clouds-yaml FILE``: writing the simulator's clouds.yaml
without ever losing someone's real clouds.

Why: the flag used to replace FILE whatever it held, real clouds and passwords
included. Now a file is replaced only when bulkboot wrote it for the simulator (its
first line says so, and it holds the simulator's clouds only), or with ``--force``;
``--merge`` adds (or updates) only the simulator's clouds in an existing clouds.yaml,
keeping its other clouds and its permissions (not its comments: the YAML is read and
written again). Anything else is refused before the simulator starts. Files bulkboot
writes anew are 0600: a clouds.yaml holds a password, even a simulated one.

Not a command (``bulkboot.cli`` skips ``_`` modules).
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bulkboot.errors import UsageError

__all__ = ["MARK", "Mode", "plan_write", "write_clouds"]

MARK = (
    "# Written by `bulkboot simulator --write-clouds-yaml` for its simulated clouds only: "
    "bulkboot may replace this file. Keep real clouds elsewhere."
)
PRIVATE = 0o600


class Mode(enum.Enum):
    """What writing FILE will do."""

    CREATE = "create"  # nothing there yet
    REPLACE = "replace"  # ours, or --force
    MERGE = "merge"  # --merge into someone's clouds.yaml


def _read(path: Path) -> str | None:
    """The text at ``path`` (followed if a link); None when nothing is there."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"--write-clouds-yaml {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--write-clouds-yaml {path}: not a regular file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"--write-clouds-yaml {path}: cannot read it: {reason}") from None


def _ours(text: str, names: frozenset[str]) -> bool:
    if not text.startswith(MARK + "\n"):
        return False
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    clouds = data.get("clouds") if isinstance(data, dict) else None
    return isinstance(clouds, dict) and set(clouds) <= names and set(data) == {"clouds"}


def plan_write(path: Path, *, names: frozenset[str], force: bool, merge: bool) -> Mode:
    """What writing ``path`` will do; ``UsageError`` (before anything starts) when it
    would replace a file that is not ours without ``--force``.

    ``names``: the clouds the simulator writes (a file holding only those is ours).
    """
    if force and merge:
        raise UsageError("--force and --merge: give one (replace the file, or add to it)")
    target = Path(os.path.realpath(path))  # a link to a clouds.yaml: write where it points
    if not target.parent.is_dir():
        raise UsageError(f"--write-clouds-yaml {path}: the folder {target.parent} does not exist")
    text = _read(target)
    if text is None:
        return Mode.CREATE
    if merge:
        _clouds_of(text, path)  # it must be a clouds.yaml to merge into
        return Mode.MERGE
    if force or _ours(text, names):
        return Mode.REPLACE
    raise UsageError(
        f"--write-clouds-yaml {path}: the file exists and bulkboot did not write it for the "
        "simulator; it may hold real clouds and passwords, so it is left as it is. Use "
        "--merge to add the simulator's clouds to it (its other clouds are kept), --force "
        "to replace it, or another file"
    )


def _clouds_of(text: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(
            f"--write-clouds-yaml {path}: cannot merge into it: not valid YAML ({exc})"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("clouds", {}), dict):
        raise UsageError(
            f"--write-clouds-yaml {path}: cannot merge into it: not a clouds.yaml "
            "(a mapping whose 'clouds' is a mapping of clouds)"
        )
    return data


def write_clouds(path: Path, clouds: Mapping[str, Any], mode: Mode) -> None:
    """Write the simulator's ``clouds`` (name -> cloud) to ``path`` as ``plan_write``
    decided; ``OSError`` and ``UsageError`` as they come."""
    from bulkboot.ui.outfile import write_atomically

    target = Path(os.path.realpath(path))
    existing = _read(target) if mode is Mode.MERGE else None
    if existing is not None:
        data = _clouds_of(existing, path)
        data.setdefault("clouds", {}).update(clouds)
        text = yaml.safe_dump(data, sort_keys=False)
        write_atomically(target, text.encode("utf-8"), what="the clouds.yaml")  # mode kept
        return
    text = MARK + "\n" + yaml.safe_dump({"clouds": dict(clouds)}, sort_keys=False)
    write_atomically(target, text.encode("utf-8"), what="the clouds.yaml", mode=PRIVATE)
