"""A short ``bulkboot load`` (boot-delete) against real Nova 34, with its report.

Ten iterations at two a second from the fixture image and flavor (quotas raised by
``test_cloud``): every one boots to ACTIVE on a fake compute host and is deleted; the
report's phases must agree with each other and with what Nova says (its own ``created``
and ``launched_at``, when its compute finished each deletion, its access log), and
nothing may be left behind. The bounds checked are the report's own (the polling bound
it states, Nova's whole-second timestamps), never a speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bulkboot.isotime import parse_iso
from tests.realnova.realcloud import TestCloud
from tests.realnova.runner import Bulkboot
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.timeout(300)]

FLEET = "rn-load"
ITERATIONS = 10
POST_SERVERS = "POST /v2.1/servers HTTP/1.1"
# Nova's ``created`` has whole seconds: a build time read from it is off by up to one.
NOVA_RESOLUTION = 1.0


def manifest(nova: NovaService) -> str:
    return f"""\
name: {FLEET}
cloud: realnova
microversion: auto
defaults:
  image: {nova.image_id}
  flavor: "{nova.flavor_id}"
  networks: none
  metadata: {{suite: realnova}}
servers:
  - name: "ld-{{index}}"
    count: 2
"""


@pytest.fixture(scope="module")
def ran(
    nova: NovaService, test_cloud: TestCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Bulkboot, dict[str, Any], int]]:
    """One load run: the command, its report, the POSTs nova-api received during it.
    The fleet is deleted after the module through the API, whatever happened."""
    folder = tmp_path_factory.mktemp("load")
    cli = Bulkboot.in_folder(nova, folder)
    (folder / f"{FLEET}.yaml").write_text(manifest(nova))
    before = nova.requests_seen().count(POST_SERVERS)
    try:
        document = cli.json(
            "load", f"{FLEET}.yaml", "--scenario", "boot-delete", "--rate", "2",
            "--iterations", str(ITERATIONS), "--poll-interval", "250ms", "--yes",
            "--threshold", "rate(failed)<1%", "--threshold", "count(dropped)==0",
            "--format", "json", "--report", "load.json", "--html", "load.html",
        )  # fmt: skip
        posts = nova.count_settles(POST_SERVERS, before + ITERATIONS) - before
        report = json.loads((folder / "load.json").read_text())
        assert report == document  # the report is the document --format json printed
        yield cli, report, posts
    finally:
        nova.delete_fleet(FLEET)


def test_every_iteration_booted_and_was_deleted(nova: NovaService, ran: Any) -> None:
    _, report, posts = ran
    assert report["kind"] == "load" and report["schema_version"] == 2
    assert report["run"]["microversion"] == "2.104"  # auto against Nova 34
    assert report["outcome"] == {
        "exit_code": 0,
        "interrupted": False,
        "aborted_by": None,
        "thresholds_held": True,
        "error": None,
    }
    iterations = report["iterations"]
    assert iterations["completed"] == iterations["started"] == ITERATIONS
    assert iterations["failed"] == iterations["dropped"] == iterations["interrupted"] == 0
    assert posts == ITERATIONS  # one create per iteration reached nova-api, none resent
    # nothing left behind: every server of the run gone (Nova may list it DELETED a moment)
    assert report["cleanup"]["left"] == [] and report["cleanup"]["listing_failed"] is None
    assert {s["status"] for s in nova.fleet_servers(FLEET)} <= {"DELETED"}
    assert report["lost_creates"] == []


def test_the_phases_are_consistent(ran: Any) -> None:
    _, report, _ = ran
    bound = report["polling"]["bound_seconds"]
    assert bound >= report["polling"]["interval_seconds"] == 0.25
    for name in ("active", "gone", "total"):
        assert report["phases"][name]["bound_seconds"] == bound
    timed = ("schedule_lag", "post", "active", "delete", "gone")
    for sample in report["samples"]:
        phases = sample["phases"]
        assert sample["outcome"] == "completed" and sample["request_id"].startswith("req-")
        assert all(phases[p] is not None and phases[p] >= 0 for p in (*timed, "total"))
        # the phases follow one another: together no longer than the iteration, which
        # runs from its intended start to the deletion seen
        assert sum(phases[p] for p in timed) <= phases["total"] + 1e-6
        assert sample["ended"] >= sample["started"] >= sample["intended"]
        # ACTIVE is seen by a poll round, at most ``bound`` after Nova launched it, and
        # never before: against Nova's own build time (created -> launched_at)
        build = phases["build"]
        assert build is not None, sample
        assert phases["post"] + phases["active"] >= build - NOVA_RESOLUTION
        assert phases["active"] <= build + NOVA_RESOLUTION + bound
    for name, aggregates in report["phases"].items():
        assert aggregates["count"] == ITERATIONS and aggregates["failed"] == 0, name
        ordered = [aggregates[a] for a in ("min", "p50", "p90", "p95", "p99", "p999", "max")]
        assert ordered == sorted(ordered), name
        assert aggregates["min"] <= aggregates["mean"] <= aggregates["max"], name


def _terminated(nova: NovaService, server_id: str) -> datetime:
    """When Nova's compute finished deleting the server (its instance action's event;
    the record is deleted in that step)."""
    status, body = nova.call(
        "GET", f"/servers/{server_id}/os-instance-actions", admin=True, microversion="2.62"
    )
    assert status == 200, body
    delete = next(a for a in body["instanceActions"] if a["action"] == "delete")
    status, body = nova.call(
        "GET",
        f"/servers/{server_id}/os-instance-actions/{delete['request_id']}",
        admin=True,
        microversion="2.62",
    )
    assert status == 200, body
    event = next(
        e for e in body["instanceAction"]["events"] if e["event"] == "compute_terminate_instance"
    )
    return parse_iso(event["finish_time"]).replace(tzinfo=timezone.utc)


def test_gone_is_seen_within_its_bound_of_novas_deletion(nova: NovaService, ran: Any) -> None:
    """The deletion is seen by a poll round at most the stated bound after Nova's compute
    finished it (a listing that moved past it would see it only a minute later)."""
    _, report, _ = ran
    bound = report["polling"]["bound_seconds"]
    began = parse_iso(report["run"]["started_at"])
    for sample in report["samples"]:
        seen = began + timedelta(seconds=sample["ended"])  # the iteration ends on seeing it
        late = (seen - _terminated(nova, sample["server_id"])).total_seconds()
        # ``started_at`` has whole milliseconds: a millisecond either way
        assert late <= bound + 0.001, (sample["index"], late, bound)


def test_requests_are_one_create_and_one_delete_per_iteration_and_shared_polls(
    ran: Any,
) -> None:
    _, report, _ = ran
    by_route = report["requests"]["by_route"]
    assert by_route["POST /v2.1/servers"] == {"count": ITERATIONS, "statuses": {"202": ITERATIONS}}
    assert by_route["DELETE /v2.1/servers/{id}"]["count"] == ITERATIONS
    assert by_route["DELETE /v2.1/servers/{id}"]["statuses"] == {"204": ITERATIONS}
    assert "GET /v2.1/servers/{id}" not in by_route  # never a GET per server
    assert report["requests"]["client"]["throttled"] == 0


def test_the_report_renders_and_reads_back(ran: Any) -> None:
    cli, report, _ = ran
    page = (cli.folder / "load.html").read_text()
    assert f"<td>{report['run']['started_at']}</td>" in page
    for phase in report["phases"]:
        assert f'data-chart="phase_{phase}_time"' in page
    shown = cli.run("report", "load.json")
    assert shown.returncode == 0, shown.stderr
    assert "load (schema version 2)" in shown.stdout and "rate(failed)<1%" in shown.stdout
