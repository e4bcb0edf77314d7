"""``bulkboot apply``: outputs field by field, exit codes, the report, nothing sent on bad input."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    apply,
    given_token_cloud,
    interrupted_apply,
    journal_of,
    run_cli,
    start_apply,
    use_simulator,
    write_fleet,
    write_lab,
)

SERVERS = ["web-01", "web-02", "web-03", "web-04", "web-05", "db"]


def _posts(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get("POST /compute/v2.1/servers", {}).values())


def test_plain_output_line_by_line_then_reapply(
    sim: RunningSimulator, tmp_path: Path, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = apply(capsys, lab, fmt="plain")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    # What it does before the run, one line per step, then the run's header.
    assert [re.sub(r":\d+/", ":PORT/", line) for line in lines[:5]] == [
        "authenticating at http://127.0.0.1:PORT/identity/v3 (cloud simulator)",
        "negotiating the compute microversion at http://127.0.0.1:PORT/compute/v2.1",
        "resolving 1 image, 2 flavors, 1 network",
        "listing the fleet's servers",
        "checking the quota",
    ]
    lines = lines[5:]
    assert re.fullmatch(
        r"apply lab: cloud simulator \(http://127\.0\.0\.1:\d+/compute/v2\.1\), "
        r"compute 2\.104, concurrency 100, rate unlimited",
        lines[0],
    )
    # The summary starts at its first line; a create that waited a millisecond or more
    # for a slot (a busy machine) adds the POST time's split under it: two lines.
    start = next(i for i, line in enumerate(lines) if line.startswith("lab: 6 servers in "))
    events, summary = lines[1:start], lines[start:]
    for name in SERVERS:
        mine = [line for line in events if line.split()[1] == name]
        assert len(mine) == 3, mine
        assert re.fullmatch(rf"\+\d+\.\d{{3}}s {name} create sent \(attempt 1\)", mine[0])
        assert re.fullmatch(
            rf"\+\d+\.\d{{3}}s {name} created id [0-9a-f-]{{36}} in \d+ms \(1 HTTP attempt\)",
            mine[1],
        )
        assert re.fullmatch(rf"\+\d+\.\d{{3}}s {name} ACTIVE after \d+\.\d\ds", mine[2])
    assert re.fullmatch(r"lab: 6 servers in (\d+ms|\d+\.\d\ds): 6 active", summary[0])
    assert summary[1] == "6 created by this run, 0 already existed (left alone)"
    assert summary[2].startswith("authentication: p50 ")
    assert summary[3].startswith("POST /servers: p50 ") and summary[3].endswith("(n=6)")
    split = summary[4:6] if summary[4].startswith("  answer ") else []
    assert [line.split(":")[0] for line in split] in (
        [],
        ["  answer (the attempt that took)", "  waited (429/503 back-off, queueing)"],
    )
    summary = summary[:4] + summary[4 + len(split) :]
    assert len(summary) == 7, summary
    assert summary[4].startswith("time to ACTIVE: p50 ") and summary[4].endswith("(n=6)")
    assert summary[5].startswith("API requests: ")  # nothing retried or turned away here
    assert "retried" not in summary[5] and "429" not in summary[5]
    assert summary[6] == "all 6 servers booted"
    assert "hunter2" not in out
    journal = journal_of(lab).read_text()
    assert "hunter2" not in journal and "adminPass" not in journal

    code, out, err = apply(capsys, lab, fmt="plain", poll=None)
    assert code == 0
    lines = out.splitlines()
    assert lines[5].startswith("apply lab: cloud simulator (")  # the header after the steps
    assert "6 server(s) already existed and were left alone; 0 to create" in lines[6:8]
    # The servers found are one line, not one per server.
    assert [line for line in lines if "already exist" in line] == [
        "6 server(s) already existed and were left alone; 0 to create",
        "already existed: 6 ACTIVE",
        "0 created by this run, 6 already existed (left alone)",
    ]
    assert "create sent" not in out
    assert _posts(sim) == 6


def test_json_output_and_report_field_by_field(
    tmp_path: Path, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    code, out, err = apply(capsys, lab, "--report", str(report))
    assert code == 0 and err == ""
    document = json.loads(out)  # stdout holds the JSON document and nothing else
    summary = document["summary"]
    assert summary["ok"] is True and summary["total"] == 6 and summary["created"] == 6
    assert summary["counts"]["active"] == 6 and summary["existed"] == 0
    assert summary["post_seconds"]["count"] == 6
    assert summary["active_seconds"]["count"] == 6
    assert summary["auth_seconds"]["count"] >= 1
    assert summary["failures"] == []
    assert document["run"]["microversion"] == "2.104"
    ids = {s["id"] for s in document["servers"]}
    assert len(ids) == 6
    for server in document["servers"]:
        assert set(server) == {
            "name",
            "id",
            "state",
            "status",
            "existed",
            "attempts",
            "http_attempts",
            "throttled",
            "post_seconds",
            "post_wait_seconds",
            "post_answer_seconds",
            "active_seconds",
            "failure",
            "message",
        }
        assert (server["state"], server["status"], server["attempts"]) == ("active", "ACTIVE", 1)
        assert server["post_seconds"] > 0 and server["active_seconds"] > server["post_seconds"]
    assert [s["name"] for s in document["servers"]] == SERVERS
    written = json.loads(report.read_text())
    assert written["servers"] == document["servers"]
    posts = [
        r for r in written["requests"] if r["method"] == "POST" and r["path"].endswith("/servers")
    ]
    assert len(posts) == 6 and all(r["status"] == 202 for r in posts)
    assert "hunter2" not in report.read_text()


def test_a_multi_create_counts_as_one_post_in_the_summary(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lab(
        tmp_path,
        "name: lab\nmicroversion: auto\ndefaults:\n  image: cirros-0.6.2\n"
        "  flavor: m1.tiny\n  networks: none\nservers:\n"
        "  - {name: pool, min_count: 5, max_count: 5}\n  - {name: solo}\n",
    )
    code, out, err = apply(capsys, path)
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert _posts(sim) == 2
    assert summary["post_seconds"]["count"] == 2  # requests, not the servers they made
    assert summary["active_seconds"]["count"] == 6
    assert summary["created"] == 6


def test_a_failed_server_exits_1_with_its_fault(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(error_fraction=1.0)
    code, out, _ = apply(capsys, lab)
    assert code == 1
    document = json.loads(out)
    assert document["summary"]["failures"] == [
        {"message": "No valid host was found. There are not enough hosts available.", "servers": 6}
    ]
    assert {s["failure"] for s in document["servers"]} == {"fault"}


def test_after_a_rollback_the_summary_still_shows_what_failed(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The rolled-back servers are DELETED, but they failed first.
    sim.configure(error_fraction=1.0)
    code, out, _ = apply(capsys, lab, "--rollback-on-failure", fmt="plain")
    assert code == 1
    lines = out.splitlines()
    title = next(line for line in lines if line.startswith("lab: 6 servers in "))
    assert title.endswith(": 6 deleted")
    assert lines[-2:] == [
        "failures:",
        "  6 x No valid host was found. There are not enough hosts available.",
    ]
    assert sim.stats()["servers_total"] == 0


def test_invalid_manifest_sends_nothing_and_exits_2(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lab(tmp_path, "name: lab\nservers:\n  - name: a\n    flavr: m1.tiny\n")
    code, out, err = apply(capsys, path, fmt=None, poll=None)
    assert code == 2 and out == ""
    assert "lab.yaml:4:5" in err and "nothing was sent" in err
    assert sim.stats()["requests_total"] == 0


def test_unknown_image_is_a_resolve_error_before_any_create(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lab(
        tmp_path,
        "name: lab\nservers:\n  - name: a\n    flavor: m1.tiny\n"
        "    image: no-such-image\n    networks: none\n",
    )
    code, out, err = apply(capsys, path, fmt=None, poll=None)
    assert code == 2
    assert "no-such-image" in err
    assert _posts(sim) == 0


def test_quota_too_small_exits_2_before_the_first_create(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(quota_cores=3)
    code, out, err = apply(capsys, lab, fmt=None, poll=None)
    assert code == 2
    assert "cores: the fleet needs 6, 3 left" in err
    assert _posts(sim) == 0


def test_bad_flag_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, "apply", "x.yaml", "--timeout", "soon")
    assert info.value.code == 2
    assert "is not a duration" in capsys.readouterr().err
    for rate, message in (
        ("inf", "must be a finite number"),
        ("Infinity", "must be a finite number"),
        ("nan", "must be more than 0"),
        ("0", "must be more than 0"),
    ):
        with pytest.raises(SystemExit) as info:
            run_cli(capsys, "apply", "x.yaml", "--rate", rate)
        assert info.value.code == 2
        assert message in capsys.readouterr().err


def test_ctrl_c_once_stops_creating_finishes_in_flight_and_summarises(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(latency=0.05)
    path = write_fleet(tmp_path, "ctrlc", 150)
    journal = journal_of(path)
    code, out, err = interrupted_apply(path, clouds, times=1)
    assert code == 130, err
    assert "interrupted: no new creates were sent after Ctrl-C" in out
    lines = journal.read_text().splitlines()
    sent = sum('"ev":"sent"' in line for line in lines)
    created = sum('"ev":"created"' in line for line in lines)
    assert sent == created < 150  # every create in flight finished and was journaled
    assert sim.stats()["servers_total"] == created

    code, out, _ = apply(capsys, path)
    document = json.loads(out)
    assert code == 0 and document["summary"]["existed"] == created
    assert sim.stats()["servers_total"] == 150 and sim.stats()["duplicate_names"] == 0


def test_no_wait_returns_once_every_create_is_accepted(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(build_time_mean=30.0)
    code, out, _ = apply(capsys, lab, "--no-wait", poll=None)
    document = json.loads(out)
    assert code == 0
    assert document["summary"]["counts"]["building"] == 6
    assert {s["status"] for s in document["servers"]} == {"BUILD"}
    assert "GET /compute/v2.1/servers/detail" in sim.stats()["requests"]  # the inventory only
    assert sum(sim.stats()["requests"]["GET /compute/v2.1/servers/detail"].values()) == 1


def test_rate_caps_every_request_of_the_run(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    started = time.monotonic()
    code, out, _ = apply(capsys, lab, "--rate", "10")
    elapsed = time.monotonic() - started
    assert code == 0
    compute = sum(
        sum(by_status.values())
        for route, by_status in sim.stats()["requests"].items()
        if route.split()[1].startswith(("/compute", "/image", "/network"))
    )
    # the first request goes at once, then one every 0.1 s: creates, polls and look-ups
    assert compute >= 10
    assert elapsed >= (compute - 1) / 10 * 0.9


def test_a_given_token_that_expires_before_the_run_can_end_is_warned_about(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import urllib.request

    import yaml

    from bulkboot.simulator.config import PASSWORD

    sim.configure(token_lifetime=600)
    clouds = sim.clouds_yaml()
    auth = clouds["clouds"]["simulator"]["auth"]
    request = urllib.request.Request(
        auth["auth_url"] + "/auth/tokens",
        data=json.dumps(
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": auth["username"],
                                "domain": {"name": "Default"},
                                "password": PASSWORD,
                            }
                        },
                    },
                    "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
                }
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback)
        token = answer.headers["X-Subject-Token"]
    clouds["clouds"]["given"] = {
        "auth_type": "token",
        "auth": {
            "auth_url": auth["auth_url"],
            "token": token,
            "project_name": "demo",
            "project_domain_name": "Default",
        },
        "region_name": "RegionOne",
    }
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    monkeypatch.chdir(tmp_path)
    path = write_lab(tmp_path)
    argv = ["apply", str(path), "--cloud", "given", "--format", "plain", "--yes"]
    # Ten minutes of token against a run allowed 30 minutes per server: warned, and
    # the token itself never appears.
    code, out, err = run_cli(capsys, *argv, "--poll-interval", "200ms")
    assert code == 0, err
    warnings = [r.getMessage() for r in caplog.records if "cannot be renewed" in r.getMessage()]
    assert len(warnings) == 1 and "expected to take about 30 min" in warnings[0]
    assert token not in out + err + caplog.text
    # A run that fits in the token's life is not warned about.
    caplog.clear()
    code, out, err = run_cli(capsys, *argv, "--timeout", "5m", "--poll-interval", "200ms")
    assert code == 0 and "cannot be renewed" not in caplog.text


def test_fixed_concurrency_and_the_window_in_the_report(
    sim: RunningSimulator, tmp_path: Path, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for flags, adaptive in (((), True), (("--fixed-concurrency",), False)):
        report = tmp_path / f"report-{adaptive}.json"
        code, _, err = apply(
            capsys, lab, "--concurrency", "3", "--report", str(report), *flags, fmt="plain"
        )
        assert code == 0, err
        window = json.loads(report.read_text())["run"]["create_window"]
        assert window["adaptive"] is adaptive
        assert window["ceiling"] == 3 and window["high"] <= 3
        assert sim.stats()["creates_in_flight_peak"] <= 3
        journal_of(lab).unlink()  # each variant starts on a fresh cloud
        sim.reset()


def test_a_token_that_cannot_be_renewed_mid_run_ends_with_the_summary_and_exit_1(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    given_token_cloud(sim, tmp_path, monkeypatch, lifetime=2.0)
    sim.configure(build_time_mean=60.0)  # still building when the token runs out
    path = write_fleet(tmp_path, "expiring", 30)
    argv = ["apply", str(path), "--cloud", "given", "--format", "json", "--yes"]
    code, out, err = run_cli(capsys, *argv, "--poll-interval", "200ms")
    assert code == 1, err
    document = json.loads(out)  # the summary of what exists, on stdout as always
    assert document["summary"]["created"] == 30
    assert document["summary"]["counts"]["building"] == 30
    error = err.splitlines()[-2:]
    assert error[0].startswith("bulkboot: error: cannot authenticate to cloud 'given' at ")
    assert error[1] == (
        "the run stopped there, after 30 create(s) were sent: the summary above says what "
        "exists, and the journal has every one"
    )
    lines = [json.loads(line) for line in journal_of(path, "given").read_text().splitlines()]
    assert sum(line["ev"] == "created" for line in lines) == 30  # whole, every create in it
    assert sim.stats()["servers_total"] == 30


def test_the_cloud_gone_mid_run_ends_with_the_summary_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulkboot.simulator import SimConfig, start_simulator

    with start_simulator(SimConfig(build_time_mean=60.0)) as own:
        clouds = use_simulator(own, tmp_path, monkeypatch)
        path = write_fleet(tmp_path, "gone", 40)
        process = start_apply(path, clouds, "--concurrency", "10", "--poll-interval", "200ms")
        journal = journal_of(path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count('"ev":"created"') >= 40:
                break
            time.sleep(0.01)
        own.stop()  # the cloud goes: every request now finds no one to answer
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "gone: 40 servers in " in out and "40 building" in out  # the summary
    assert err.startswith("bulkboot: error: ") and err.endswith(
        "the run stopped there, after 40 create(s) were sent: the summary above says what "
        "exists, and the journal has every one\n"
    )
    for line in journal.read_text().splitlines():
        json.loads(line)
