"""The numbers behind a time chart, as a table folded under it (bounded in rows)."""

from __future__ import annotations

from collections.abc import Sequence

from bulkboot.ui.report_tables import Cell, Table, count_cell, fmt_count, table

__all__ = ["ROWS", "series_table", "thinned"]

ROWS = 60


def thinned(count: int, rows: int = ROWS) -> list[int]:
    """At most ``rows`` indices spread over ``count``, the first and last included."""
    if count <= rows:
        return list(range(count))
    step = (count - 1) / (rows - 1)
    return sorted({round(k * step) for k in range(rows)})


def series_table(
    key: str,
    title: str,
    times: Sequence[float],
    columns: Sequence[tuple[str, Sequence[float]]],
) -> Table:
    """Time and each column at evenly spread samples (every sample when few)."""
    rows: list[list[Cell]] = []
    for i in thinned(len(times)):
        row = [Cell(text=f"{times[i]:g}", value=times[i])]
        for _, values in columns:
            value = values[i]
            row.append(
                count_cell(value)
                if float(value).is_integer()
                else Cell(text=fmt_count(round(value, 3)), value=round(value, 3))
            )
        rows.append(row)
    note = "" if len(times) <= ROWS else f"{len(rows)} of {len(times)} samples, evenly spread."
    return table(
        key,
        title,
        ("seconds", *(label for label, _ in columns)),
        rows,
        numeric=(True,) * (len(columns) + 1),
        note=note,
    )
