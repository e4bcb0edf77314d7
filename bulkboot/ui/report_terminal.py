"""A report's summary in the terminal (rich) and as Markdown (CI job summaries).

Both draw the same ``report_tables`` models as the HTML page, so the three agree. A
report holds text from the cloud as it came (fault messages, names): every cell goes
through ``ui.text.printable`` here, so none reaches a terminal (or a log shown in one)
with its escape sequences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from bulkboot.ui.report_compare import Comparison
from bulkboot.ui.report_content import tables_for, title_of
from bulkboot.ui.report_tables import Table, header_fields
from bulkboot.ui.text import printable

__all__ = [
    "markdown_comparison",
    "markdown_report",
    "print_comparison",
    "print_report",
    "show_comparison",
    "show_report",
]

# Without a terminal (a CI log, a file) rich would assume 80 columns and fold the
# tables; a log is read wider.
_LOG_WIDTH = 160


def _console(out: TextIO) -> Console:
    return Console(file=out, soft_wrap=False, width=None if out.isatty() else _LOG_WIDTH)


_STYLES = {"pass": "green", "fail": "bold red", "worse": "red", "better": "green"}


def _rich(table: Table) -> RichTable:
    out = RichTable(title=table.title, title_justify="left", caption=table.note or None)
    for column, numeric in zip(table.columns, table.numeric, strict=True):
        if numeric:  # a number is never cut in two
            out.add_column(column, justify="right", no_wrap=True)
        else:
            out.add_column(column, overflow="fold")
    for row in table.rows:
        out.add_row(*(Text(printable(c.text), style=_STYLES.get(c.mark or "", "")) for c in row))
    return out


def _print_header(console: Console, title: str, fields: Iterable[tuple[str, str]]) -> None:
    header = RichTable(title=title, title_justify="left", show_header=False, box=None)
    header.add_column(style="bold")
    header.add_column(overflow="fold")
    for label, value in fields:
        header.add_row(label, Text(printable(value)))
    console.print(header)


def print_report(document: Mapping[str, Any], console: Console) -> None:
    """The header and every table of the report."""
    _print_header(console, title_of(document), header_fields(document))
    for table in tables_for(document):
        console.print()
        console.print(_rich(table))


def print_comparison(
    comparison: Comparison, base: Mapping[str, Any], new: Mapping[str, Any], console: Console
) -> None:
    _print_header(console, f"compare {comparison.kind}", _compare_fields(base, new))
    console.print()
    console.print(_rich(comparison.table()))


def _compare_fields(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    def field(document: Mapping[str, Any], label: str) -> str:
        return dict(header_fields(document)).get(label, "")

    return [
        ("base", f"{title_of(base)}, started {field(base, 'started (UTC)')}"),
        ("new", f"{title_of(new)}, started {field(new, 'started (UTC)')}"),
    ]


def _md_cell(text: str) -> str:
    return printable(text).replace("\\", "\\\\").replace("|", "\\|")


def _markdown_table(table: Table) -> list[str]:
    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_md_cell(c) or " " for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
    for row in table.rows:
        cells = []
        for cell in row:
            text = _md_cell(cell.text)
            cells.append(f"**{text}**" if cell.mark in ("fail", "worse") else text)
        lines.append("| " + " | ".join(cells) + " |")
    if table.note:
        lines += ["", f"_{_md_cell(table.note)}_"]
    return lines + [""]


def _markdown_header(title: str, fields: Sequence[tuple[str, str]]) -> list[str]:
    lines = [f"## {title}", "", "| | |", "|---|---|"]
    lines += [f"| {_md_cell(label)} | {_md_cell(value)} |" for label, value in fields]
    return lines + [""]


def markdown_report(document: Mapping[str, Any]) -> str:
    """The summary as GitHub-flavoured Markdown."""
    lines = _markdown_header(title_of(document), header_fields(document))
    for table in tables_for(document):
        lines += _markdown_table(table)
    return "\n".join(lines)


def markdown_comparison(
    comparison: Comparison, base: Mapping[str, Any], new: Mapping[str, Any]
) -> str:
    lines = _markdown_header(f"compare {comparison.kind}", _compare_fields(base, new))
    lines += _markdown_table(comparison.table())
    return "\n".join(lines)


def show_report(document: Mapping[str, Any], fmt: str, out: TextIO) -> None:
    """``fmt`` "markdown": the Markdown; otherwise rich tables on ``out``."""
    if fmt == "markdown":
        out.write(markdown_report(document) + "\n")
    else:
        print_report(document, _console(out))


def show_comparison(
    comparison: Comparison,
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    fmt: str,
    out: TextIO,
) -> None:
    if fmt == "markdown":
        out.write(markdown_comparison(comparison, base, new) + "\n")
    else:
        print_comparison(comparison, base, new, _console(out))
