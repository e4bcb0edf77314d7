"""A report's size grows with the servers and requests only: the series is bounded.

100,000 servers must stay under ~50 MB: the per-server part is measured at 10,000
(5 MB at most), and the series of a run of any length is at most
``SeriesSampler.max_points`` samples (``test_series.py``). benchmarks/bench_report.py
writes and renders a real 100,000-server report and records the figures.
"""

from __future__ import annotations

import json

from bulkboot.ui.report import report_text
from bulkboot.ui.series import SeriesSampler
from tests.ui.report_fixtures import apply_document


def test_ten_thousand_servers_take_under_five_megabytes() -> None:
    text = report_text(apply_document(10_000))
    assert len(text.encode()) < 5_000_000
    assert json.loads(text)["summary"]["total"] == 10_000
    # one server, one request per line: a reader can grep it
    assert text.count('\n    {"name":"web-') == 10_000


def test_a_days_series_is_bounded_as_an_hours_is() -> None:
    """Between 512 and 1,024 samples (it halves when full) of four columns: under
    60 kB, an hour or a day."""
    for hours in (1, 24):
        sampler = SeriesSampler()
        t = 0.0
        while t < hours * 3600:
            sampler.add(t, dict.fromkeys(("queued", "creating", "building", "active"), 50_000))
            t += sampler.interval
        document = sampler.document()
        assert 512 <= len(document["t"]) <= sampler.max_points + 1
        assert len(json.dumps(document)) < 60_000
