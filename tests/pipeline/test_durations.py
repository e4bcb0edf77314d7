"""Durations: one syntax for every flag and the manifest's load: mapping."""

from __future__ import annotations

import argparse

import pytest

from bulkboot.commands._options import parse_duration
from bulkboot.pipeline.durations import format_seconds, parse_seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("500ms", 0.5), ("5m", 300.0), ("1.5h", 5400.0), (".5", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-3s", "0", "0ms", "3 days"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_seconds(text)


@pytest.mark.parametrize("text", ["90s", ".5", "1.5h", "2min", "soon", "0"])
def test_the_flags_read_durations_as_the_manifest_does(text: str) -> None:
    try:
        expected: float | str = parse_seconds(text)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: float | str = parse_duration(text)
    except argparse.ArgumentTypeError as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize("seconds", [0.25, 1.0, 90.0, 1800.0, 5400.0, 7200.0])
def test_a_formatted_duration_reads_back(seconds: float) -> None:
    assert parse_seconds(format_seconds(seconds)) == pytest.approx(seconds)
