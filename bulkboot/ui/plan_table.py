"""The ``bulkboot plan`` table: one row per run of alike servers, rendered with rich.

Rows are plain records computed from the bodies that would be sent (``plan_rows``), so
the table can never disagree with ``--format json``. Online, each row starts with what
``apply`` would do to its servers (``+`` create, ``~`` replace, ``=`` unchanged, ``!``
in ERROR). Consecutive single servers of one
group that would get the same image, flavor and networks share a row ("web-01 …
web-40", count 40): a 100,000-server plan stays a screenful and renders quickly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bulkboot.ui.text import printable

__all__ = ["PlanRow", "merge_rows", "plan_table", "print_plan_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRow:
    """One create request as the table shows it; ``count`` is servers, not requests."""

    group: str  # the group's name template: rows merge only within a group
    name: str
    image: str
    flavor: str
    networks: str  # one line per network (a narrow column, rather than a long line)
    count: int
    count_text: str  # "1", "3", "2-4" (a multi-create range)
    last_name: str | None = None  # set when the row stands for several requests
    mark: str = ""  # what apply would do: + create, ~ replace, = unchanged, ! in ERROR


def merge_rows(rows: Iterable[PlanRow]) -> list[PlanRow]:
    """Fold consecutive one-server rows of a group that differ only by name."""
    merged: list[PlanRow] = []
    for row in rows:
        if merged:
            last = merged[-1]
            if (
                row.count == 1
                and row.count_text == "1"
                and (last.count_text == "1" or last.last_name is not None)
                and last.group == row.group
                and last.mark == row.mark
                and last.image == row.image
                and last.flavor == row.flavor
                and last.networks == row.networks
            ):
                total = last.count + 1
                merged[-1] = PlanRow(
                    group=last.group,
                    name=last.name,
                    image=last.image,
                    flavor=last.flavor,
                    networks=last.networks,
                    count=total,
                    count_text=str(total),
                    last_name=row.name,
                    mark=row.mark,
                )
                continue
        merged.append(row)
    return merged


def plan_table(rows: Sequence[PlanRow], *, title: str | None, caption: str | None) -> Table:
    """The table for already merged rows."""
    # A light box, no edges: at 80 columns the columns' room goes to names and short
    # IDs, so a row stays on one line (the heavy box cost it 16 columns).
    table = Table(
        title=None if title is None else Text(printable(title)),
        caption=None if caption is None else Text(printable(caption)),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        title_justify="left",
    )
    marked = any(row.mark for row in rows)
    if marked:
        table.add_column("", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("image", overflow="fold")
    table.add_column("flavor", overflow="fold")
    table.add_column("networks", overflow="fold")  # one line per network
    table.add_column("count", justify="right")
    for row in rows:
        name = row.name if row.last_name is None else f"{row.name} … {row.last_name}"
        cells: tuple[str, ...] = (name, row.image, row.flavor, row.networks, row.count_text)
        if marked:
            cells = (row.mark, *cells)
        # Text, not str: a name from the manifest is shown as written, never as markup.
        table.add_row(*(Text(printable(cell, multiline=True)) for cell in cells))
    return table


def print_plan_table(
    rows: Iterable[PlanRow],
    console: Console | TextIO,
    *,
    title: str | None = None,
    caption: str | None = None,
    lines: Iterable[str] = (),
) -> None:
    """Merge alike rows and print the table on ``console`` (a rich Console, injected so
    tests can record it, or a text stream to wrap in one), then ``lines`` as they are
    (from the cloud and the manifest: made printable)."""
    if not isinstance(console, Console):
        console = Console(file=console)
    console.print(plan_table(merge_rows(rows), title=title, caption=caption))
    for line in lines:
        console.print(Text(printable(line)), soft_wrap=True)
