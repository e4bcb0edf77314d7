"""``bulkboot status`` as a table (rich) or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from bulkboot.engine.status import StatusRow

__all__ = ["print_status_json", "print_status_table", "status_document"]

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


def print_status_table(console: Console, fleet: str, cloud: str, rows: Sequence[StatusRow]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("server", "status", "id", "addresses", "note"):
        table.add_column(column, no_wrap=column != "note", overflow="fold")
    for row in rows:
        table.add_row(
            row.name,
            row.status,
            row.server_id or "",
            row.addresses,
            row.note,
            style=_STYLE.get(row.status, "") if row.in_manifest else "magenta",
        )
    counts = Counter(row.status for row in rows if row.in_manifest)
    drift = sum(1 for row in rows if not row.in_manifest)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no servers"
    console.print(f"fleet {fleet} on {cloud}: {summary}; {drift} drift", highlight=False)
    if rows:
        console.print(table)
