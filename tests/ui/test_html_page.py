"""The HTML page as text: self-contained, no script, no inline style, every series drawn,
every number the JSON's, nothing from the report executed (it is all escaped)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from bulkboot.ui.html import render_comparison, render_report
from bulkboot.ui.html.scale import ticks
from bulkboot.ui.report_compare import compare
from bulkboot.ui.report_read import parse_report
from tests.ui.report_fixtures import apply_document, destroy_document, load_document


class Elements(HTMLParser):
    """Every start tag with its attributes, and which chart it is inside."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str], str | None]] = []
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self._chart = attributes.get("data-chart")
        self.found.append((tag, attributes, self._chart))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None


def _elements(page: str) -> list[tuple[str, dict[str, str], str | None]]:
    parser = Elements()
    parser.feed(page)
    return parser.found


def _read(document: dict[str, Any]) -> dict[str, Any]:
    return parse_report(json.loads(json.dumps(document)), source="x.json")


PAGES = {
    "apply": lambda: render_report(_read(apply_document())),
    "destroy": lambda: render_report(_read(destroy_document())),
    "load": lambda: render_report(_read(load_document())),
    "compare": lambda: render_comparison(
        compare(_read(load_document()), _read(load_document(seed=9))),
        _read(load_document()),
        _read(load_document(seed=9)),
    ),
}


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_self_contained_no_script_no_inline_style(kind: str) -> None:
    page = PAGES[kind]()
    elements = _elements(page)
    tags = {tag for tag, _, _ in elements}
    assert "script" not in tags and "iframe" not in tags and "img" not in tags
    assert page.count("<style>") == 1  # one block, which a strict CSP may drop
    for tag, attributes, _ in elements:
        assert "style" not in attributes, tag  # CSP blocks style attributes
        assert not any(name.startswith("on") for name in attributes), tag
        for name in ("src", "href"):
            value = attributes.get(name)
            if value is not None:
                assert value.startswith("#") or value == "data:,", (tag, value)


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_every_legend_item_has_a_drawn_path(kind: str) -> None:
    elements = _elements(PAGES[kind]())
    charts = {chart for _, _, chart in elements if chart}
    assert charts
    for chart in charts:
        legend = [
            a["data-legend-item"] for t, a, c in elements if c == chart and "data-legend-item" in a
        ]
        paths = {
            a["data-series"]: a.get("d", "")
            for t, a, c in elements
            if c == chart and t == "path" and "data-series" in a
        }
        assert legend, chart
        for key in legend:
            d = paths[key]
            assert re.match(r"^M-?\d", d) and len(re.findall(r"[LHVZlmh]", d)) >= 1, (
                chart,
                key,
                d[:40],
            )


def test_the_tables_carry_the_json_numbers() -> None:
    document = _read(apply_document())
    elements = _elements(render_report(document))
    values = [float(a["data-value"]) for t, a, _ in elements if t == "td" and "data-value" in a]
    summary = document["summary"]
    for key in ("post_seconds", "active_seconds"):
        for name in ("min", "mean", "p50", "p90", "p95", "p99", "max"):
            assert summary[key][name] in values, (key, name)
    assert summary["elapsed_seconds"] in values
    assert all(v in values for v in document["request_counts"].values())


def test_what_the_report_holds_is_shown_as_text_never_run() -> None:
    document = apply_document(80)
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    document["servers"][39]["message"] = evil
    document["servers"][39]["name"] = "web-<b>39</b>"
    document["run"]["command_line"] = ["bulkboot", "apply", evil]
    page = render_report(_read(document))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "web-&lt;b&gt;39&lt;/b&gt;" in page


def test_a_failure_group_names_its_servers_and_bounds_the_list() -> None:
    page = render_report(_read(apply_document(2000, fail_every=10)))
    assert "web-00020, web-00040" in page  # the quota failures: every 20th server
    assert " and 80 more" in page  # 100 servers with that message, 20 named


def test_a_long_tail_is_cut_and_said() -> None:
    document = apply_document(400)
    document["requests"].append(
        {
            "method": "POST",
            "path": "/compute/v2.1/servers",
            "status": 202,
            "attempts": 5,
            "started": 1.0,
            "seconds": 300.0,
        }
    )
    page = render_report(_read(document))
    assert re.search(
        r"1 values above 1\d\d\.\d ms \(the tail past 4x the p99\) are not drawn; "
        r"the largest is 5\.00 min",
        page,
    )


def test_ticks_are_round_and_cover_the_data() -> None:
    axis = ticks(0.0, 1234.0, "count")
    assert axis.values == (0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0)
    assert axis.high >= 1234.0
    ms = ticks(0.0, 0.0873, "duration")
    assert ms.unit == "ms" and ms.labels[-1] == "100"
    minutes = ticks(0.0, 3600.0, "elapsed")
    assert minutes.unit == "minutes" and minutes.labels[-1] == "60"
    small = ticks(0.0, 3.0, "count")
    assert small.values == (0.0, 1.0, 2.0, 3.0)  # whole numbers only


def test_a_chart_with_nothing_to_draw_says_so() -> None:
    document = _read(load_document(50))
    document["samples"] = []
    page = render_report(document)
    assert "This report holds no samples to draw over time." in page
    assert 'data-table="phases"' in page  # the aggregates still shown
