"""What a report says about the run itself: when (UTC), by which command line (secrets
masked), against which region, from which manifest (its hash).

Why masked here and not trusted to be clean: a command line is copied into a file that
is archived and shared (CI artifacts); a flag that ever takes a secret, or a secret
pasted where a file name was expected, must not travel with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bulkboot.cloud.redact import MASK, mask_secrets

__all__ = ["iso_utc", "masked_command_line", "masked_url", "run_info"]

# A flag whose name says it holds a secret: its value is masked whatever it is.
_SECRET_FLAG = re.compile(r"^--?[\w-]*(password|secret|token|passwd)[\w-]*$", re.I)


def iso_utc(moment: datetime) -> str:
    """``2025-01-31T12:00:03.125Z``: UTC, milliseconds, the form JSON readers parse."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def masked_command_line(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """``argv`` with the value of every secret-named flag (``--password X``,
    ``--os-token=X``) and every known secret value masked as ``***``."""
    known = [s for s in secrets if s]
    out: list[str] = []
    mask_next = False
    for word in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        flag, eq, _ = word.partition("=")
        if _SECRET_FLAG.match(flag):
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(word)
                mask_next = True
            continue
        out.append(mask_secrets(word, known, shortest=4))
    return out


def masked_url(url: str | None) -> str | None:
    """A URL without the user and password it may carry (``https://u:p@host``)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def run_info(
    *,
    started: datetime,
    ended: datetime,
    command_line: Sequence[str],
    region: str | None,
    manifest_path: str | None,
    manifest_sha256: str | None,
) -> dict[str, Any]:
    """The run's header fields of a report (merged into its ``run`` block)."""
    return {
        "started_at": iso_utc(started),
        "ended_at": iso_utc(ended),
        "command_line": list(command_line),
        "region": region,
        "manifest": {"path": manifest_path, "sha256": manifest_sha256},
    }
