"""The plan table: which rows merge, and the exact text rich renders."""

from __future__ import annotations

import io

from rich.console import Console

from bulkboot.ui.plan_table import PlanRow, merge_rows, print_plan_table


def row(name: str, **changes: object) -> PlanRow:
    values: dict[str, object] = {
        "group": "web-{index}",
        "name": name,
        "image": "cirros",
        "flavor": "m1.small",
        "networks": "auto",
        "count": 1,
        "count_text": "1",
    }
    values.update(changes)
    return PlanRow(**values)  # type: ignore[arg-type]


def test_consecutive_alike_servers_of_a_group_merge() -> None:
    merged = merge_rows([row("web-1"), row("web-2"), row("web-3")])
    assert len(merged) == 1
    (only,) = merged
    assert (only.name, only.last_name, only.count, only.count_text) == ("web-1", "web-3", 3, "3")


def test_rows_that_differ_do_not_merge() -> None:
    rows = [
        row("web-1"),
        row("web-2", flavor="m1.large"),  # a different flavor
        row("web-3", flavor="m1.large"),
        row("db-1", group="db-{index}", flavor="m1.large"),  # another group
        row("big", group="big", count=5, count_text="2-5"),  # a multi-create request
        row("big2", group="big", count=5, count_text="5"),
    ]
    merged = merge_rows(rows)
    assert [(r.name, r.last_name, r.count_text) for r in merged] == [
        ("web-1", None, "1"),
        ("web-2", "web-3", "2"),
        ("db-1", None, "1"),
        ("big", None, "2-5"),
        ("big2", None, "5"),
    ]


def test_table_text_in_a_recording_console() -> None:
    console = Console(file=io.StringIO(), record=True, width=72, color_system=None)
    print_plan_table(
        [row("web-1"), row("web-2"), row("batch", group="batch", count=4, count_text="2-4")],
        console,
        title="fleet lab",
        caption="3 requests",
    )
    text = console.export_text()
    # A light box without edges: the room goes to the names (80 columns, one line a row).
    assert [line.rstrip() for line in text.splitlines()] == [
        "fleet lab",
        "name           image   flavor    networks  count",
        "────────────────────────────────────────────────",
        "web-1 … web-2  cirros  m1.small  auto          2",
        "batch          cirros  m1.small  auto        2-4",
        "3 requests",
    ]


def test_rows_of_different_changes_do_not_merge_and_the_mark_leads_the_row() -> None:
    rows = [row("web-1", mark="~"), row("web-2", mark="~"), row("web-3", mark="=")]
    merged = merge_rows(rows)
    assert [(r.mark, r.name, r.last_name) for r in merged] == [
        ("~", "web-1", "web-2"),
        ("=", "web-3", None),
    ]
    out = io.StringIO()
    print_plan_table(merged, Console(file=out, width=80), lines=["plan: 0 to create"])
    text = out.getvalue().splitlines()
    assert text[-1] == "plan: 0 to create"
    assert any(line.startswith("~  web-1 … web-2") for line in text)
