"""``status`` as a table: on a terminal (rich) and in a pipe (one line per server)."""

from __future__ import annotations

import io

from rich.console import Console

from bulkboot.engine.status import StatusRow
from bulkboot.ui.status_table import print_status_table

NOTE = "drift: no longer in the manifest (created by an earlier version of it)"
ROWS = [
    StatusRow(
        name=f"web-{i:03d}",
        server_id=f"00000000-0000-4000-8000-{i:012d}",
        status="ACTIVE",
        addresses="private=10.0.0.12, fd00::12; public=172.24.4.12",
        in_manifest=True,
    )
    for i in range(1, 4)
] + [
    StatusRow(
        name="old-1", server_id=None, status="MISSING", addresses="", in_manifest=False, note=NOTE
    )
]


def test_in_a_pipe_each_server_is_one_whole_line() -> None:
    # rich would fold the note a few characters per line at 80 columns.
    out = io.StringIO()
    print_status_table(Console(file=out, width=80), "lab", "sim", ROWS)
    lines = out.getvalue().splitlines()
    assert lines[0] == "fleet lab on sim: 3 ACTIVE; 1 drift"
    assert lines[1].split() == ["server", "status", "id", "addresses", "note"]
    assert len(lines) == 2 + len(ROWS)
    assert lines[2].split()[:3] == ["web-001", "ACTIVE", "00000000-0000-4000-8000-000000000001"]
    assert lines[2].endswith("public=172.24.4.12")
    assert lines[-1].startswith("old-1") and lines[-1].endswith(NOTE)
    # columns line up: every row's status starts where the header's does
    column = lines[1].index("status")
    assert all(line[column:].startswith(("ACTIVE", "MISSING")) for line in lines[2:])


def test_on_a_terminal_it_is_a_rich_table() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    print_status_table(console, "lab", "sim", ROWS)
    lines = out.getvalue().splitlines()
    assert lines[0] == "fleet lab on sim: 3 ACTIVE; 1 drift"
    assert lines[1].split() == ["server", "status", "id", "addresses", "note"]
    assert lines[-1].split()[:2] == ["old-1", "MISSING"] and NOTE in lines[-1]
