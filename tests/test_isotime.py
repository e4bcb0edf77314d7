"""ISO 8601 times read alike on Python 3.10 and 3.11+ (Nova's and Keystone's forms)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bulkboot.isotime import as_python310, parse_iso

UTC = timezone.utc
# What Python 3.10's fromisoformat reads: isoformat()'s own output.
PY310_FORM = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d\.\d{6}([+-]\d\d:\d\d(:\d\d)?)?)?")

FORMS = [
    # Nova: created, updated, changes-since as bulkboot writes it
    ("2026-11-25T18:00:05Z", datetime(2026, 11, 25, 18, 0, 5, tzinfo=UTC)),
    # Nova: OS-SRV-USG:launched_at (no offset: naive)
    ("2026-11-25T18:00:06.000000", datetime(2026, 11, 25, 18, 0, 6)),
    # Keystone: expires_at, issued_at
    ("2015-11-07T02:58:43.578887Z", datetime(2015, 11, 7, 2, 58, 43, 578887, tzinfo=UTC)),
    ("2015-11-07t02:58:43.000000Z", datetime(2015, 11, 7, 2, 58, 43, tzinfo=UTC)),
    ("2026-11-25T18:00:05+00:00", datetime(2026, 11, 25, 18, 0, 5, tzinfo=UTC)),
    (
        "2026-11-25 18:00:05.5+0530",
        datetime(2026, 11, 25, 18, 0, 5, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ),
    (
        "2026-11-25T18:00:05.1234567-02",
        datetime(2026, 11, 25, 18, 0, 5, 123456, tzinfo=timezone(timedelta(hours=-2))),
    ),
    ("2026-11-25T18:00:05,25Z", datetime(2026, 11, 25, 18, 0, 5, 250000, tzinfo=UTC)),
    ("2026-11-25T18:00Z", datetime(2026, 11, 25, 18, 0, tzinfo=UTC)),
    ("2026-11-25T18", datetime(2026, 11, 25, 18)),
    ("20261125T180005Z", datetime(2026, 11, 25, 18, 0, 5, tzinfo=UTC)),
    ("2026-11-25", datetime(2026, 11, 25)),
    (
        "2026-11-25T18:00:05+05:30:15",
        datetime(
            2026, 11, 25, 18, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15))
        ),
    ),
]


@pytest.mark.parametrize(("text", "moment"), FORMS)
def test_the_clouds_forms_are_read(text: str, moment: datetime) -> None:
    assert parse_iso(text) == moment
    assert parse_iso(text).tzinfo == moment.tzinfo


@pytest.mark.parametrize(("text", "moment"), FORMS)
def test_the_python310_rewrite_is_the_same_moment_in_the_form_310_reads(
    text: str, moment: datetime
) -> None:
    """Checked on every Python: the 3.10 branch is a rewrite, then isoformat's own form."""
    rewritten = as_python310(text)
    assert PY310_FORM.fullmatch(rewritten), rewritten
    assert datetime.fromisoformat(rewritten) == moment


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-25T24:00:00",
        "2026-13-01",
        "2026-1125",
        "1700000000",
        "2026-11-25T18:00:05z",
    ],
)
def test_what_is_no_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)
    with pytest.raises(ValueError):
        datetime.fromisoformat(as_python310(text))
