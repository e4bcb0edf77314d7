"""The page around the charts: one HTML file, semantic markup, one ``<style>`` block.

What reads where (docs/reports.md says the same to users):

- Opened from disk or any server: the ``<style>`` block lays it out, in light or dark
  (``prefers-color-scheme``) and for print.
- Under a Content Security Policy that refuses inline CSS (Jenkins' default:
  ``sandbox; default-src 'none'; img-src 'self'; style-src 'self';``) the browser drops
  the ``<style>`` block and nothing else: the charts keep their colours (SVG
  presentation attributes, not CSS), the tables keep their borders and right-aligned
  numbers (the ``border`` and ``align`` attributes, which HTML keeps for exactly this:
  legible tables where CSS is absent), and the headings, lists and ``<details>`` are
  the browser's own. There is no script to block: hover details are SVG ``<title>``s.

Every number a table shows carries its JSON value in ``data-value``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from bulkboot import __version__
from bulkboot.ui.outfile import write_atomically
from bulkboot.ui.report_tables import Table

__all__ = ["Section", "figure", "page", "render_table", "write_html"]

_CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d1f21; --muted: #5f6368;
  --line: #d0d4d9; --head: #f1f3f4; --pass: #00795a; --fail: #c3410a; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181b; --fg: #e4e6e8; --muted: #a0a6ad; --line: #3a3f45;
    --head: #22262b; --pass: #3ccf9c; --fail: #ff8a50; } }
body { background: var(--bg); color: var(--fg); margin: 0 auto; max-width: 1120px;
  padding: 1rem 1.5rem 3rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  sans-serif; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; } h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem;
  border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; border: 1px solid var(--line); }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid var(--line); padding: 0.2rem 0.55rem; vertical-align: top; }
thead th { background: var(--head); }
td[align=right] { font-variant-numeric: tabular-nums; white-space: nowrap; }
th[scope=row] { text-align: left; font-weight: 600; background: var(--head); }
.pass { color: var(--pass); font-weight: 600; } .fail, .worse { color: var(--fail);
  font-weight: 600; } .better { color: var(--pass); }
.note, figcaption { color: var(--muted); font-size: 0.9em; max-width: 60rem; }
figure { margin: 0.5rem 0 1rem; } svg { max-width: 100%; height: auto; }
code { overflow-wrap: anywhere; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; list-style: none; padding: 0; }
details { margin: 0.3rem 0 1rem; } summary { cursor: pointer; color: var(--muted); }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #333; --line: #999; --head: #eee; }
  body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; }
  section, figure, table { break-inside: avoid; } }
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    key: str
    title: str
    body: str


def _cell(text: str, value: float | int | None, mark: str | None, numeric: bool) -> str:
    attributes = ' align="right"' if numeric else ""
    if value is not None:
        attributes += f' data-value="{value!r}"'
    if mark:
        attributes += f' class="{mark}"'
    return f"<td{attributes}>{escape(text)}</td>"


def render_table(table: Table) -> str:
    """A ``Table`` as HTML: bordered and aligned without CSS (see the module docstring)."""
    right = ' align="right"'
    head = "".join(
        f'<th scope="col"{right if n else ""}>{escape(c)}</th>'
        for c, n in zip(table.columns, table.numeric, strict=True)
    )
    rows = [
        "<tr>"
        + "".join(
            _cell(cell.text, cell.value, cell.mark, numeric)
            for cell, numeric in zip(row, table.numeric, strict=True)
        )
        + "</tr>"
        for row in table.rows
    ]
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<table data-table="{escape(table.key)}" border="1" cellpadding="4">'
        f"<caption>{escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{note}"
    )


def figure(svg: str, caption: str, numbers: Table | None = None) -> str:
    """A chart, its caption, and (folded) the numbers it draws."""
    details = (
        f"<details><summary>the numbers</summary>{render_table(numbers)}</details>"
        if numbers is not None and numbers.rows
        else ""
    )
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>{details}"


def _header(fields: Iterable[Sequence[str]], columns: Sequence[str]) -> str:
    """Label and value(s) per row; ``columns`` heads the values (a comparison's two runs)."""
    rows = []
    for label, *values in fields:
        cells = "".join(
            "<td>"
            + (f"<code>{escape(v)}</code>" if label == "command line" else escape(v))
            + "</td>"
            for v in values
        )
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    head = (
        "<thead><tr><td></td>"
        + "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
        + "</tr></thead>"
        if columns
        else ""
    )
    return (
        f'<table data-table="header" border="1" cellpadding="4">{head}'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def page(
    *,
    title: str,
    fields: Sequence[Sequence[str]],
    sections: Sequence[Section],
    source: str,
    columns: Sequence[str] = (),
) -> str:
    """The whole document."""
    contents = "".join(
        f'<li><a href="#{escape(s.key)}">{escape(s.title)}</a></li>' for s in sections
    )
    body = "\n".join(
        f'<section id="{escape(s.key)}"><h2>{escape(s.title)}</h2>\n{s.body}</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="bulkboot {escape(__version__)}">\n'
        # no icon: a browser would otherwise fetch /favicon.ico from wherever the page is
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(title)}</h1>\n{_header(fields, columns)}</header>\n"
        f'<nav aria-label="contents"><ul>{contents}</ul></nav>\n<main>\n{body}\n</main>\n'
        f'<footer><p class="note">Drawn by bulkboot {escape(__version__)} from '
        f"{escape(source)}. No script, no network: every number is in the tables "
        "above and in the JSON report.</p></footer>\n</body>\n</html>\n"
    )


def write_html(path: str | os.PathLike[str], text: str) -> None:
    """Write the page atomically to a regular file (see ``ui.outfile``)."""
    write_atomically(path, text.encode("utf-8"), what="the page")
