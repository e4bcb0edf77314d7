"""ISO 8601 timestamps read the same on every Python bulkboot supports.

Why: Nova (``2026-11-25T18:00:05Z``) and Keystone (``2015-11-07T02:58:43.578887Z``)
write a trailing ``Z``, and Python 3.10's ``datetime.fromisoformat`` reads only what
``isoformat()`` writes: no ``Z``, fractions of exactly 3 or 6 digits, ``+HH:MM``
offsets. From 3.11 it reads ISO 8601 itself and is used as it is; on 3.10 the text is
first rewritten into the one form 3.10 reads, so that a token's expiry or a server's
``created`` means the same on both.

Pure standard library: the bottom of the package, importable from anywhere (the
simulator included, which reads Nova's ``changes-since``).
"""

from __future__ import annotations

import re
import sys
from datetime import datetime

__all__ = ["parse_iso"]

# The calendar forms clouds write, extended (2026-11-25T18:00:05) or basic
# (20261125T180005): a date, then optionally a time to the hour, minute or second, a
# fraction ('.' or ','; of a second, as 3.11 reads it) and an offset (Z, +HH, +HHMM,
# +HH:MM, with seconds).
_FORM = re.compile(
    r"(?P<year>\d{4})(?P<ds>-?)(?P<month>\d{2})(?P=ds)(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2})(?:(?P<ts>:?)(?P<minute>\d{2})(?:(?P=ts)(?P<second>\d{2}))?)?"
    r"(?:[.,](?P<fraction>\d*))?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?)?",
    re.ASCII,
)


def parse_iso(text: str) -> datetime:
    """``datetime.fromisoformat`` as Python 3.11 reads it (calendar forms on 3.10).

    Raises ``ValueError`` for what is not such a time, as ``fromisoformat`` does.
    """
    if sys.version_info >= (3, 11):
        return datetime.fromisoformat(text)
    return datetime.fromisoformat(as_python310(text))  # pragma: no cover (3.10)


def as_python310(text: str) -> str:
    """The same moment in the one form Python 3.10's ``fromisoformat`` reads
    (``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM``); text in no form known here is returned
    unchanged, for ``fromisoformat`` to refuse."""
    found = _FORM.fullmatch(text)
    if found is None:
        return text
    date = f"{found['year']}-{found['month']}-{found['day']}"
    if found["hour"] is None:
        return date
    fraction = (found["fraction"] or "")[:6].ljust(6, "0")
    time = f"{found['hour']}:{found['minute'] or '00'}:{found['second'] or '00'}.{fraction}"
    return f"{date}T{time}{_offset(found['offset'])}"


def _offset(text: str | None) -> str:
    """``+HH:MM[:SS]`` for any offset form, ``+00:00`` for ``Z``."""
    if not text:
        return ""
    if text == "Z":
        return "+00:00"
    sign, digits = text[0], text[1:].replace(":", "")
    seconds = f":{digits[4:]}" if digits[4:] else ""
    return f"{sign}{digits[:2]}:{digits[2:4] or '00'}{seconds}"
