"""The HTML reports in a real browser (headless chromium over the DevTools Protocol).

With JavaScript disabled and enabled: the page loads with no console error or
warning and makes no request but its own; every chart's SVG is there with a drawn path
(a non-empty box) for each series its legend names; the numbers in the tables are
the JSON's; a screenshot is taken (kept under the test's tmp dir). Then dark and
print, and the page served under Jenkins' default Content-Security-Policy, which
refuses the ``<style>`` block: what it promises to still show, it shows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from bulkboot.simulator.server import RunningSimulator
from bulkboot.ui.html import render_comparison, render_report
from bulkboot.ui.load_series import ordered_phases
from bulkboot.ui.report_compare import compare
from bulkboot.ui.report_read import parse_report, read_report
from tests.ui.html_browser import Page, RunningChromium, chromium_process, open_page
from tests.ui.report_fixtures import apply_document, destroy_document, load_document

pytestmark = pytest.mark.anyio

JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"


@pytest.fixture(scope="module")
def chromium() -> Iterator[RunningChromium]:
    with chromium_process() as running:
        yield running


_PHASES = ("schedule_lag", "post", "active", "build", "delete", "gone", "total")
EXPECTED_CHARTS = {
    "apply": 4,  # states, in flight and window, POST latency, time to ACTIVE
    "destroy": 2,  # states, deletes in flight
    "load": 3 + 2 * len(_PHASES),  # rate, in flight, late/dropped; per phase: time, histogram
}


def _document(kind: str) -> dict[str, Any]:
    made = {"apply": apply_document, "destroy": destroy_document, "load": load_document}[kind]()
    return parse_report(json.loads(json.dumps(made)), source=f"{kind}.json")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def _check_charts(page: Page) -> int:
    """Every chart: an SVG with a legend, and for each legend item a drawn path."""
    charts = await page.nodes("svg[data-chart]")
    assert charts, "no chart on the page"
    for chart in charts:
        name = (await page.attributes(chart))["data-chart"]
        width, height = await page.box(chart)
        assert width > 100 and height > 100, name
        legend = await page.nodes(f'svg[data-chart="{name}"] [data-legend-item]')
        assert legend, f"chart {name} has no legend"
        for item in legend:
            key = (await page.attributes(item))["data-legend-item"]
            paths = await page.nodes(f'svg[data-chart="{name}"] path[data-series="{key}"]')
            assert len(paths) == 1, (name, key)
            attributes = await page.attributes(paths[0])
            assert attributes.get("d"), (name, key)
            w, h = await page.box(paths[0])
            assert w > 0 and (h > 0 or w > 1), (name, key, w, h)
    return len(charts)


async def _table_numbers(page: Page, table: str) -> list[tuple[str, str]]:
    """(text, data-value) of every numeric cell of a table, as the browser has them."""
    cells = await page.nodes(f'table[data-table="{table}"] td[data-value]')
    out = []
    for cell in cells:
        value = (await page.attributes(cell))["data-value"]
        html = await page.call("DOM.getOuterHTML", {"nodeId": cell})
        text = re.sub(r"<[^>]+>", "", html["outerHTML"])
        out.append((text, value))
    return out


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("kind", ["apply", "destroy", "load"])
async def test_the_page_in_a_browser(
    chromium: RunningChromium, tmp_path: Path, kind: str, javascript: bool
) -> None:
    document = _document(kind)
    path = _write(tmp_path, f"{kind}.html", render_report(document, source=f"{kind}.json"))
    async with open_page(chromium) as page:
        await page.open(path.as_uri(), javascript=javascript)
        assert page.problems() == []
        assert page.requests() == [path.as_uri()]  # its own document, nothing else
        assert await _check_charts(page) == EXPECTED_CHARTS[kind]
        if javascript:  # the browser runs scripts, and the page has none to run
            assert await page.evaluate("document.scripts.length") == 0
        (tmp_path / f"{kind}-{'js' if javascript else 'nojs'}.png").write_bytes(
            await page.screenshot()
        )
    assert (tmp_path / f"{kind}-{'js' if javascript else 'nojs'}.png").stat().st_size > 10_000


async def test_the_numbers_shown_are_the_json_numbers(
    chromium: RunningChromium, tmp_path: Path
) -> None:
    document = _document("apply")
    path = _write(tmp_path, "apply.html", render_report(document))
    summary = document["summary"]
    async with open_page(chromium) as page:
        await page.open(path.as_uri(), javascript=False)
        timings = await _table_numbers(page, "timings")
        expected = []
        for key in ("auth_seconds", "post_seconds", "active_seconds"):
            stats = summary[key]
            for name in ("count", "min", "mean", "p50", "p90", "p95", "p99", "max"):
                expected.append(stats[name])
        assert [float(v) for _, v in timings] == expected
        # and the text shown says the same number (to its unit's precision)
        post_p99_text = timings[8 + 6][0]
        assert post_p99_text == f"{summary['post_seconds']['p99'] * 1000:.1f} ms"
        outcome = dict((text, value) for text, value in await _table_numbers(page, "outcome"))
        assert str(summary["counts"]["active"]) in outcome.values()
        counts = await _table_numbers(page, "request_counts")
        assert [int(v) for _, v in counts] == list(document["request_counts"].values())


async def test_the_load_tables_are_the_reports(chromium: RunningChromium, tmp_path: Path) -> None:
    document = _document("load")
    path = _write(tmp_path, "load.html", render_report(document))
    async with open_page(chromium) as page:
        await page.open(path.as_uri(), javascript=False)
        phases = await _table_numbers(page, "phases")
        expected = []
        for phase in _PHASES:
            aggregates = document["phases"][phase]
            expected += [
                aggregates[a]
                for a in (
                    "count",
                    "failed",
                    "min",
                    "mean",
                    "p50",
                    "p90",
                    "p95",
                    "p99",
                    "p999",
                    "max",
                )
            ]
        assert [float(v) for _, v in phases] == pytest.approx(expected, rel=0, abs=0)
        iterations = await _table_numbers(page, "iterations")
        assert [float(v) for _, v in iterations][:6] == [
            document["iterations"][k]
            for k in ("scheduled", "started", "completed", "failed", "dropped", "late")
        ]
        html = await page.html()
        assert 'class="fail">FAIL</td>' in html  # the failed threshold, in words too


async def test_dark_scheme_and_print(chromium: RunningChromium, tmp_path: Path) -> None:
    path = _write(tmp_path, "apply.html", render_report(_document("apply")))
    async with open_page(chromium) as page:
        await page.open(path.as_uri(), javascript=False, dark=True)
        body = (await page.nodes("body"))[0]
        background = await page.style(body, "background-color")
        color = await page.style(body, "color")
        assert background == "rgb(22, 24, 27)" and color == "rgb(228, 230, 232)"
        # chart text is currentColor: light on the dark page
        label = (await page.nodes('svg[data-chart="states"] text'))[0]
        assert await page.style(label, "fill") == color
        (tmp_path / "apply-dark.png").write_bytes(await page.screenshot())
        (tmp_path / "apply.pdf").write_bytes(await page.pdf())
    assert (tmp_path / "apply.pdf").read_bytes().startswith(b"%PDF")


async def test_under_jenkins_csp_the_charts_and_tables_still_read(
    chromium: RunningChromium, tmp_path: Path
) -> None:
    """Served as Jenkins serves archived files: the ``<style>`` block is refused (the
    browser says so, once), and nothing else is lost."""
    text = render_report(_document("apply"))

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/favicon.ico":  # the browser's own ask, as Jenkins answers it
            return web.Response(status=204)
        if request.path != "/report.html":
            raise web.HTTPNotFound()
        return web.Response(
            text=text, content_type="text/html", headers={"Content-Security-Policy": JENKINS_CSP}
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with open_page(chromium) as page:
            url = f"http://127.0.0.1:{port}/report.html"
            await page.open(url, javascript=True)
            problems = page.problems()
            # refused: the <style> block and the empty icon (data:), nothing else
            assert any("inline style" in p for p in problems), problems
            assert all("inline style" in p or "'data:,'" in p for p in problems), problems
            assert [u for u in page.requests() if u != url] == []
            await _check_charts(page)
            path = (await page.nodes('svg[data-chart="states"] path[data-series="active"]'))[0]
            assert await page.style(path, "fill") == "rgb(0, 158, 115)"  # the attribute's
            cell = (await page.nodes('table[data-table="timings"] td[data-value]'))[0]
            assert await page.style(cell, "border-top-width") == "1px"  # border="1"
            # align="right", which the browser maps to its own right alignment
            assert await page.style(cell, "text-align") in ("right", "-webkit-right")
            body = (await page.nodes("body"))[0]
            assert await page.style(body, "max-width") == "none"  # the CSS really is gone
            (tmp_path / "apply-jenkins-csp.png").write_bytes(await page.screenshot())
    finally:
        await runner.cleanup()


async def test_the_comparison_page(chromium: RunningChromium, tmp_path: Path) -> None:
    base = _document("load")
    new = parse_report(json.loads(json.dumps(load_document(seed=4, post=0.3))), source="new")
    text = render_comparison(compare(base, new), base, new)
    path = _write(tmp_path, "compare.html", text)
    async with open_page(chromium) as page:
        await page.open(path.as_uri(), javascript=False)
        assert page.problems() == []
        assert page.requests() == [path.as_uri()]
        await _check_charts(page)
        for chart in ("achieved", "phase_post_p95", "phase_post_hist"):
            for run in ("base", "new"):
                prefix = chart.removeprefix("phase_").removesuffix("_hist")
                key = f"{chart}_{run}" if chart != "phase_post_p95" else f"post_p95_{run}"
                if chart == "phase_post_hist":
                    key = f"phase_post_hist_{run}"
                assert await page.nodes(f'svg[data-chart="{chart}"] path[data-series="{key}"]'), (
                    chart,
                    run,
                    prefix,
                )
        (tmp_path / "compare.png").write_bytes(await page.screenshot())


@pytest.fixture
def real_load_report(sim: RunningSimulator, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A report ``bulkboot load`` wrote on the simulator (some builds fail, a threshold
    does not hold), and the page it wrote with it."""
    sim.configure(latency=0.01, build_time_mean=0.4, build_time_stddev=0.1, error_fraction=0.3)
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    (tmp_path / "lab.yaml").write_text(
        "name: lab\ndefaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}\n"
        'servers:\n  - name: "web-{index}"\n    count: 2\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "bulkboot", "load", "lab.yaml", "--cloud", "simulator"]
        + ["--rate", "10", "--iterations", "20", "--poll-interval", "100ms", "--yes"]
        + ["--threshold", "p95(post)<2s", "--threshold", "rate(failed)<1%"]
        + ["--format", "plain", "--report", "load.json", "--html", "load.html"],
        cwd=tmp_path,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(tmp_path / "clouds.yaml")),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 3, done.stderr  # the failed builds break rate(failed)<1%
    return read_report(tmp_path / "load.json"), tmp_path / "load.html"


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
async def test_a_real_load_report_in_the_browser(
    chromium: RunningChromium,
    real_load_report: tuple[dict[str, Any], Path],
    tmp_path: Path,
    javascript: bool,
) -> None:
    """The page ``bulkboot load --html`` wrote, and the one ``bulkboot report`` draws
    from its JSON: every chart drawn, every number the report's."""
    document, written = real_load_report
    drawn = _write(tmp_path, "drawn.html", render_report(document, source="load.json"))
    phases = ordered_phases(document["phases"])
    for path in (written, drawn):
        async with open_page(chromium) as page:
            await page.open(path.as_uri(), javascript=javascript)
            assert page.problems() == []
            assert page.requests() == [path.as_uri()]
            assert await _check_charts(page) == 3 + 2 * len(phases)
            numbers = [float(v) for _, v in await _table_numbers(page, "phases")]
            expected = [
                document["phases"][phase][a]
                for phase in phases
                for a in ("count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999")
                + ("max",)
                if document["phases"][phase][a] is not None
            ]
            assert numbers == expected
            iterations = [float(v) for _, v in await _table_numbers(page, "iterations")]
            assert iterations[:4] == [
                document["iterations"][k] for k in ("scheduled", "started", "completed", "failed")
            ]
            failures = await _table_numbers(page, "load_failures")
            assert [float(v) for _, v in failures] == [f["count"] for f in document["failures"]]
            html = await page.html()
            assert 'class="fail">FAIL</td>' in html and 'class="pass">pass</td>' in html
            assert document["run"]["started_at"] in html
            (tmp_path / f"{path.stem}-{'js' if javascript else 'nojs'}.png").write_bytes(
                await page.screenshot()
            )


def test_without_chromium_a_developer_skips_and_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ui import html_browser

    monkeypatch.setattr(html_browser.shutil, "which", lambda name: None)
    monkeypatch.delenv(html_browser.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        html_browser.require_chromium()
    monkeypatch.setenv(html_browser.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="BULKBOOT_REQUIRE_CHROMIUM=1 but chromium"):
        html_browser.require_chromium()
