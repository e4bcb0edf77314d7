"""``bulkboot load`` from the command line, against the session simulator.

Real time here (builds of ~0.2 s, a few iterations): these tests hold what the command
promises (the document, exit codes, nothing sent for bad input, nothing left behind,
after SIGKILL too), not timings; the timings are held on virtual time in
tests/engine/load.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from bulkboot import __version__
from bulkboot.isotime import parse_iso
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    destroy,
    journal_of,
    kill,
    run_cli,
    use_simulator,
    wait_for_sends,
)
from tests.commands.load_helpers import FLEET, load, start_load, write_load_fleet


@pytest.fixture
def fleet(clouds: Path) -> Path:
    return write_load_fleet(clouds.parent)


def test_the_json_document_is_alone_on_stdout_and_the_report_is_the_same(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = fleet.parent / "run.json"
    code, out, err = load(
        capsys,
        fleet,
        "--rate",
        "10",
        "--iterations",
        "6",
        "--threshold",
        "rate(failed)<1%",
        "--format",
        "json",
        "--report",
        str(report),
    )
    assert code == 0, err
    document = json.loads(out)
    assert json.loads(report.read_text()) == document
    assert document["kind"] == "load" and document["schema_version"] == 2
    for key in ("iterations", "rate", "phases", "requests", "thresholds", "samples"):
        assert key in document
    assert document["iterations"] == {
        "scheduled": 6,
        "started": 6,
        "completed": 6,
        "failed": 0,
        "dropped": 0,
        "late": document["iterations"]["late"],
        "interrupted": 0,
    }
    assert set(document["rate"]) >= {"offered", "achieved"} and document["rate"]["offered"] == 10
    assert set(document["phases"]["post"]) >= {
        "count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max",
    }  # fmt: skip
    assert document["phases"]["active"]["bound_seconds"] >= 0.1
    assert set(document["requests"]) >= {"by_route", "per_iteration"}
    assert document["requests"]["by_route"]["POST /compute/v2.1/servers"]["count"] == 6
    assert document["thresholds"] == [
        {"expression": "rate(failed)<1%", "ok": True, "observed": 0.0, "unit": "ratio"}
    ]
    samples = document["samples"]
    assert len(samples) == 6 and all(s["request_id"].startswith("req-") for s in samples)
    assert {s["name"].rsplit("-", 2)[1] for s in samples} == {document["run_id"]}
    assert document["cloud"]["auth_url"] == sim.auth_url and "PASSWORD" not in out
    # the header every report has (docs/reports.md): who, when, where, from what
    run = document["run"]
    assert run["manifest"] == {
        "path": str(fleet),
        "sha256": hashlib.sha256(fleet.read_bytes()).hexdigest(),
    }
    assert run["command_line"][:3] == ["bulkboot", "load", str(fleet)]
    assert run["region"] == "RegionOne" and run["microversion"] == "2.104"
    assert run["endpoint"] == document["cloud"]["endpoint"] and run["cloud"] == "simulator"
    started, ended = (parse_iso(run[k]) for k in ("started_at", "ended_at"))
    assert started.tzinfo is not None and started <= ended
    assert document["tool"]["version"] == __version__
    assert sim.stats()["servers_total"] == 0


def test_a_threshold_that_fails_exits_3_and_cleans_up(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(latency=0.02)
    code, out, err = load(
        capsys,
        fleet,
        "--concurrency",
        "2",
        "--iterations",
        "4",
        "--threshold",
        "p95(post)<1ms",
        "--threshold",
        "count(dropped)==0",
        "--format",
        "plain",
    )
    assert code == 3, err
    assert "FAIL  p95(post)<1ms" in out and "pass  count(dropped)==0" in out
    assert sim.stats()["servers_total"] == 0


def test_find_capacity_from_the_command_line_reports_its_knee_and_steps(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flags reach the search (start, factor, step length), thresholds on
    ``total`` and ``rate(failed)`` see the steps' completed iterations, and exit 0
    says a knee was found."""
    code, out, err = load(
        capsys,
        fleet,
        "--find-capacity",
        "--capacity-start", "4",
        "--capacity-factor", "2",
        "--capacity-step", "1s",
        "--capacity-max-steps", "2",
        "--capacity-margin", "10%",
        "--threshold", "rate(failed)<1%",
        "--threshold", "p99(total)<60s",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out)
    capacity = document["capacity"]
    assert capacity["knee"] == 8 and document["settings"]["capacity"]["margin"] == 0.1
    steps = capacity["steps"]
    assert [(s["rate"], s["held"], s["window_seconds"]) for s in steps] == [
        (4, True, 1),
        (8, True, 1),
    ]
    for step in steps:
        assert step["offered"] == step["achieved"] == step["rate"]
        assert step["iterations"]["completed"] == step["rate"]
        assert all(t["ok"] for t in step["thresholds"])
    assert sim.stats()["servers_total"] == 0


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--rate", "1", "--iterations", "1", "--threshold", "p95(pots)<1s"), "unknown metric"),
        (("--rate", "1", "--iterations", "1", "--threshold", "p95(list)<1s"), "no 'list' phase"),
        (("--rate", "1"), "say how long"),
        (("--rate", "1", "--iterations", "1", "--keep"), "only the boot scenario"),
        (
            ("--rate", "1", "--iterations", "1", "--capacity-step", "5s"),
            "only with --find-capacity",
        ),
        (("--find-capacity", "--capacity-margin", "150%"), "a share from 0 up to"),
    ],
)
def test_bad_input_is_one_message_and_nothing_is_sent(
    sim: RunningSimulator,
    fleet: Path,
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    words: str,
) -> None:
    code, out, err = load(capsys, fleet, *flags)
    assert code == 2 and words in err and "Traceback" not in err
    assert sim.stats()["requests_total"] == 0


def test_a_bad_load_section_points_at_its_line(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.write_text(FLEET + "load:\n  rate: 2\n  iterations: 2\n  thresholds: [p95(list)<1s]\n")
    code, _, err = load(capsys, fleet)
    assert code == 2
    assert f"{fleet}:12:16: load: threshold 'p95(list)<1s': the boot-delete scenario" in err
    assert "nothing was sent" in err and sim.stats()["requests_total"] == 0
    # the manifest's settings run when valid; a flag overrides one of them
    fleet.write_text(FLEET + "load:\n  rate: 20\n  iterations: 2\n  scenario: boot\n")
    code, out, err = load(capsys, fleet, "--iterations", "3", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["scenario"] == "boot" and document["iterations"]["completed"] == 3


def test_boot_leaves_nothing_unless_kept_and_destroy_takes_what_was_kept(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ("--scenario", "boot", "--rate", "20", "--iterations", "3", "--format", "json")
    code, out, err = load(capsys, fleet, *flags)
    assert code == 0, err
    assert json.loads(out)["cleanup"]["deleted"] == 3
    assert sim.stats()["servers_total"] == 0
    code, out, err = load(capsys, fleet, *flags, "--keep")
    assert code == 0, err
    assert len(json.loads(out)["cleanup"]["kept"]) == 3
    assert sim.stats()["servers_total"] == 3
    code, _, err = destroy(capsys, fleet)
    assert code == 0, err
    assert sim.stats()["servers_total"] == 0


@pytest.mark.parametrize("journal", ["kept", "lost"])
def test_sigkill_mid_run_then_destroy_leaves_nothing(
    sim: RunningSimulator,
    fleet: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    journal: str,
) -> None:
    # A short request timeout: a create the kill left journaled as sent and unanswered
    # (one that never left, say) is waited for that long by the destroy, not 120 s.
    clouds = use_simulator(sim, fleet.parent, monkeypatch, api_timeout=2.0)
    sim.configure(build_time_mean=30.0, latency=0.01)
    process = start_load(fleet, clouds, "--rate", "40", "--duration", "60", capture=False)
    wait_for_sends(journal_of(fleet), 12)
    kill(process)
    assert sim.stats()["servers_total"] >= 10
    time.sleep(0.1)  # let the requests the dead process left in flight land
    if journal == "lost":  # the fleet mark alone finds them
        journal_of(fleet).unlink()
    code, out, err = destroy(capsys, fleet)
    assert code == 0, err
    assert sim.stats()["servers_total"] == 0


def test_ctrl_c_once_deletes_what_is_in_flight_and_reports(
    sim: RunningSimulator, fleet: Path, clouds: Path
) -> None:
    sim.configure(build_time_mean=30.0, latency=0.01)
    process = start_load(fleet, clouds, "--rate", "40", "--duration", "60")
    wait_for_sends(journal_of(fleet), 8)
    process.send_signal(2)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in out and "LEFT BEHIND" not in out
    assert sim.stats()["servers_total"] == 0


def test_validate_reports_the_load_section_with_the_rest(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.write_text(FLEET + "load:\n  rate: fast\n")
    code, _, err = run_cli(capsys, "validate", str(fleet))
    assert code == 2
    assert f"{fleet}:10:9: load: load.rate: expected a number, got a string 'fast'" in err


def test_the_help_states_the_engines_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from bulkboot.engine.load.plan import (
        DEFAULT_LATE_AFTER,
        DEFAULT_MAX_IN_FLIGHT,
        DEFAULT_MIN_SAMPLES,
        DEFAULT_POLL_INTERVAL,
        DEFAULT_TIMEOUT,
    )
    from bulkboot.pipeline.load_spec import CapacitySearch

    with pytest.raises(SystemExit):
        run_cli(capsys, "load", "--help")
    text = " ".join(capsys.readouterr().out.split())
    capacity = CapacitySearch()
    assert f"dropped and counted (default {DEFAULT_MAX_IN_FLIGHT})" in text
    assert f"(default {DEFAULT_POLL_INTERVAL * 1000:g}ms)" in text
    assert f"(default {DEFAULT_TIMEOUT / 60:g}m)" in text
    assert f"(default {DEFAULT_MIN_SAMPLES})" in text
    assert f"(default {DEFAULT_LATE_AFTER * 1000:g}ms; the event loop's own timers" in text
    assert f"first rate ({capacity.start:g}/s)" in text
    assert f"over the last ({capacity.factor:g})" in text
    assert f"one step ({capacity.step:g}s)" in text and f"at most ({capacity.max_steps})" in text


def test_the_reports_auth_url_holds_no_credentials() -> None:
    from bulkboot.commands._load_run import _plain_url

    assert _plain_url("https://user:secret@keystone.example:5000/v3?token=x#y") == (
        "https://keystone.example:5000/v3"
    )
    assert _plain_url("http://[::1]:8774/identity/v3") == "http://[::1]:8774/identity/v3"
    assert _plain_url(None) is None
