"""The tables of a report as plain data: one model that the terminal, Markdown and the
HTML page all render, so the numbers they show cannot disagree.

A ``Cell`` holds the text shown and, for a number, the value it came from in the JSON
(the page writes it as ``data-value``, so a reader or a test can check one against the
other). Formatting lives here too, one function per kind of number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Cell",
    "Table",
    "count_cell",
    "fmt_count",
    "fmt_rate",
    "fmt_seconds",
    "header_fields",
    "number",
    "seconds_cell",
    "text_cell",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    """One cell: ``text`` as shown; ``value`` the JSON number behind it, if any;
    ``mark`` a verdict the renderers may colour ("pass", "fail", "worse", "better")."""

    text: str
    value: float | int | None = None
    mark: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A titled table; ``key`` names it on the page (``data-table``) and in tests."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...]  # per column: right-aligned
    note: str = ""


def number(value: Any) -> float | int | None:
    """``value`` when it is a finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fmt_seconds(value: Any) -> str:
    """A duration as people read it: ``0.4 ms``, ``212.0 ms``, ``5.031 s``, ``3.50 min``."""
    seconds = number(value)
    if seconds is None:
        return "-"
    size = abs(seconds)
    if size < 1.0:
        return f"{seconds * 1000:.1f} ms"
    if size < 120.0:
        return f"{seconds:.3f} s"
    return f"{seconds / 60:.2f} min"


def fmt_count(value: Any) -> str:
    count = number(value)
    if count is None:
        return "-"
    if isinstance(count, float) and not count.is_integer():
        return f"{count:,.2f}"
    return f"{int(count):,}"


def fmt_rate(value: Any) -> str:
    """Per second, as ``12.50/s``."""
    rate = number(value)
    return "-" if rate is None else f"{rate:,.2f}/s"


def seconds_cell(value: Any) -> Cell:
    return Cell(text=fmt_seconds(value), value=number(value))


def count_cell(value: Any) -> Cell:
    return Cell(text=fmt_count(value), value=number(value))


def text_cell(text: Any, mark: str | None = None) -> Cell:
    return Cell(text="-" if text is None else str(text), mark=mark)


def header_fields(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The page's and the terminal's header: what ran, when, where, from what.

    A field the report does not hold (a version 1 report has no times) says so
    rather than vanish, so a reader knows it is missing, not empty.
    """
    run = document.get("run")
    run = run if isinstance(run, Mapping) else {}
    tool = document.get("tool")
    tool = tool if isinstance(tool, Mapping) else {}
    manifest = run.get("manifest")
    manifest = manifest if isinstance(manifest, Mapping) else {}
    missing = "not in this report" + (
        f" (schema version {document.get('schema_version')})"
        if document.get("schema_version") == 1
        else ""
    )

    def shown(value: Any) -> str:
        if value is None or value == "":
            return missing
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        return str(value)

    version = tool.get("version")
    return [
        ("report", f"{document.get('kind')} (schema version {document.get('schema_version')})"),
        ("bulkboot", shown(version)),
        ("command line", shown(run.get("command_line"))),
        ("started (UTC)", shown(run.get("started_at"))),
        ("ended (UTC)", shown(run.get("ended_at"))),
        ("cloud", shown(run.get("cloud"))),
        ("region", (run.get("region") or "none configured") if "region" in run else missing),
        ("endpoint", shown(run.get("endpoint"))),
        ("microversion", shown(run.get("microversion"))),
        ("manifest", shown(manifest.get("path"))),
        ("manifest sha256", shown(manifest.get("sha256"))),
    ]


def table(
    key: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    numeric: Sequence[bool] | None = None,
    note: str = "",
) -> Table:
    """A ``Table``; ``numeric`` defaults to every column but the first."""
    flags = tuple(numeric) if numeric is not None else (False,) + (True,) * (len(columns) - 1)
    return Table(
        key=key,
        title=title,
        columns=tuple(columns),
        rows=tuple(tuple(row) for row in rows),
        numeric=flags,
        note=note,
    )
