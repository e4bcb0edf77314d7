"""``bulkboot status`` as a table (rich) or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bulkboot.engine.status import StatusRow
from bulkboot.ui.text import printable

__all__ = ["print_status_json", "print_status_table", "status_document", "status_lines"]

_STYLE = {"ACTIVE": "green", "ERROR": "red", "BUILD": "blue", "MISSING": "yellow"}


def status_document(fleet: str, cloud: str, rows: Sequence[StatusRow]) -> dict[str, Any]:
    counts = Counter(row.status for row in rows if row.in_manifest)
    return {
        "fleet": fleet,
        "cloud": cloud,
        "counts": dict(sorted(counts.items())),
        "servers": [row.as_dict() for row in rows if row.in_manifest],
        "drift": [row.as_dict() for row in rows if not row.in_manifest],
    }


def print_status_json(out: TextIO, fleet: str, cloud: str, rows: Sequence[StatusRow]) -> None:
    json.dump(status_document(fleet, cloud, rows), out, indent=2)
    out.write("\n")


_COLUMNS = ("server", "status", "id", "addresses", "note")


def _cells(row: StatusRow) -> tuple[str, ...]:
    # Every cell but the column names comes from the cloud or the manifest.
    cells = (row.name, row.status, row.server_id or "", row.addresses, row.note)
    return tuple(printable(cell) for cell in cells)


def status_lines(rows: Sequence[StatusRow]) -> list[str]:
    """The table as plain lines, one per server, columns aligned, never wrapped.

    Why: without a terminal (a pipe, a file, CI) rich assumes 80 columns and folds
    the note a few characters per line; a line per server can be grepped and cut.
    """
    cells = [_COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in cells
    ]


def print_status_table(
    console: Console | TextIO, fleet: str, cloud: str, rows: Sequence[StatusRow]
) -> None:
    """Print the table on ``console`` (a rich Console, injected so tests can record it,
    or a text stream to wrap in one: the commands need not import rich)."""
    if not isinstance(console, Console):
        console = Console(file=console)
    counts = Counter(row.status for row in rows if row.in_manifest)
    drift = sum(1 for row in rows if not row.in_manifest)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no servers"
    title = printable(f"fleet {fleet} on {cloud}: {summary}; {drift} drift")
    if not console.is_terminal:
        console.file.write("\n".join([title, *(status_lines(rows) if rows else [])]) + "\n")
        console.file.flush()
        return
    console.print(title, markup=False, highlight=False)
    if not rows:
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in _COLUMNS:
        table.add_column(column, no_wrap=column != "note", overflow="fold")
    for row in rows:
        table.add_row(
            *(Text(cell) for cell in _cells(row)),  # Text: a name is not rich markup
            style=_STYLE.get(row.status, "") if row.in_manifest else "magenta",
        )
    console.print(table)
