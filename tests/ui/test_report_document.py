"""The report document's own parts: version and kind, the aggregates, request counts,
and the text it is written as."""

from __future__ import annotations

import json

import pytest

from bulkboot import __version__
from bulkboot.cloud.timing import RequestTiming
from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.report import report_text, results_document, stats, summarize
from bulkboot.ui.report_requests import request_counts


def test_stats_hold_every_aggregate_load_reports_too() -> None:
    found = stats([float(v) for v in range(1, 1001)])
    assert found is not None
    assert (found.min, found.max, found.mean) == (1.0, 1000.0, 500.5)
    assert found.p95 == pytest.approx(950.05) and found.p999 == pytest.approx(999.001)
    assert list(found.as_dict()) == [
        *("count", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max")
    ]


def _timing(method: str, path: str, status: int | None, attempts: int = 1) -> RequestTiming:
    return RequestTiming(
        method=method, path=path, status=status, attempts=attempts, started=0.0, seconds=0.1
    )


def test_request_counts_say_what_the_api_answered() -> None:
    counts = request_counts(
        [
            _timing("POST", "/identity/v3/auth/tokens", 201),
            _timing("POST", "/v2.1/servers", 202, attempts=3),  # two 429s waited out
            _timing("GET", "/v2.1/servers/detail", 429, attempts=4),  # still 429 at the end
            _timing("GET", "/v2.1/servers/detail", 503, attempts=2),
            _timing("DELETE", "/v2.1/servers/x", None),
            _timing("POST", "/identity/v3/auth/tokens", 201),  # a 401 re-authenticated
        ]
    )
    assert counts == {
        "requests": 6,
        "retries": 2 + 3 + 1,
        "final_429": 1,
        "final_503": 1,
        "unanswered": 1,
        "authentications": 2,
        "reauthentications": 1,
    }


def test_every_document_says_its_version_kind_and_tool() -> None:
    state = ServerState(name="a", phase=Phase.DELETED, server_id="1")
    summary = summarize([state], command="destroy", fleet="lab", elapsed=1.0)
    document = results_document(summary, [state])
    assert list(document)[:3] == ["schema_version", "kind", "tool"]
    assert document["schema_version"] == 2 and document["kind"] == "destroy"
    assert document["tool"] == {"name": "bulkboot", "version": __version__}
    assert "request_counts" not in document  # only with the requests (--report)


def test_the_text_is_the_document_one_item_a_line() -> None:
    document = {
        "schema_version": 2,
        "servers": [{"name": "a", "id": None}, {"name": 'b\n"', "id": "2"}],
        "series": {"t": [0.0, 0.5], "columns": {"active": [0, 1]}},
        "empty": {},
        "nothing": [],
    }
    text = report_text(document)
    assert json.loads(text) == document
    lines = text.splitlines()
    assert '    {"name":"a","id":null},' in lines
    assert '    "t": [0.0, 0.5],' in lines
    assert '  "empty": {},' in lines and '  "nothing": []' in lines
