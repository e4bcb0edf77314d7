"""The HTML report: one self-contained page per run, or per comparison of two runs.

``render_report(document)`` draws any report ``ui.report_read`` accepts (apply,
destroy, load; schema versions 1 and 2): a command that writes a report gets its page
with one call. No network, no script: charts are inline SVG (``svg``), the page
reads under a CSP that refuses inline CSS (``page``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkboot.ui.html.compare_page import compare_sections
from bulkboot.ui.html.load_page import load_sections
from bulkboot.ui.html.page import page, write_html
from bulkboot.ui.html.run_page import run_sections
from bulkboot.ui.report_compare import Comparison
from bulkboot.ui.report_content import title_of
from bulkboot.ui.report_tables import header_fields

__all__ = ["render_comparison", "render_report", "write_html"]


def render_report(document: Mapping[str, Any], *, source: str = "its JSON report") -> str:
    """The page of one report (``source`` names the JSON it was drawn from)."""
    sections = load_sections(document) if document.get("kind") == "load" else run_sections(document)
    run = document.get("run")
    started = run.get("started_at") if isinstance(run, Mapping) else None
    title = title_of(document) + (f", {started}" if started else "")
    return page(title=title, fields=header_fields(document), sections=sections, source=source)


def render_comparison(
    comparison: Comparison,
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    source: str = "two JSON reports",
) -> str:
    """The page comparing ``new`` with ``base``."""
    new_fields = dict(header_fields(new))
    fields = [(label, value, new_fields.get(label, "")) for label, value in header_fields(base)]
    return page(
        title=f"bulkboot {comparison.kind}: two runs compared (base and new)",
        fields=fields,
        sections=compare_sections(comparison, base, new),
        source=source,
        columns=("base", "new"),
    )
