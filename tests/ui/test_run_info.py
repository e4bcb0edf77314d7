"""The run's header fields: UTC times, the command line without secrets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bulkboot.ui.run_info import iso_utc, masked_command_line, masked_url, run_info


def test_times_are_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 14, 10, 26, 53, 589793, tzinfo=paris)
    assert iso_utc(moment) == "2025-03-14T09:26:53.589Z"
    assert iso_utc(datetime(2025, 1, 1, tzinfo=timezone.utc)) == "2025-01-01T00:00:00.000Z"


def test_secret_flags_and_known_secrets_are_masked() -> None:
    argv = [
        "bulkboot",
        "apply",
        "lab.yaml",
        "--os-password",
        "hunter2",
        "--token=abc123def",
        "--app-secret",
        "s3cr3t",
        "--note",
        "pass=hunter2!",
        "--cloud",
        "prod",
    ]
    masked = masked_command_line(argv, ["hunter2", "", "xy"])
    assert masked == [
        "bulkboot",
        "apply",
        "lab.yaml",
        "--os-password",
        "***",
        "--token=***",
        "--app-secret",
        "***",
        "--note",
        "pass=***!",
        "--cloud",
        "prod",
    ]
    assert masked_command_line(["bulkboot", "--password"]) == ["bulkboot", "--password"]


def test_a_url_loses_its_user_and_password() -> None:
    assert masked_url("https://admin:pw@nova.example:8774/v2.1") == "https://nova.example:8774/v2.1"
    assert masked_url("https://nova.example/v2.1") == "https://nova.example/v2.1"
    assert masked_url(None) is None


def test_run_info_fields() -> None:
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    info = run_info(
        started=start,
        ended=start + timedelta(seconds=90.5),
        command_line=["bulkboot", "apply", "x.yaml"],
        region=None,
        manifest_path="x.yaml",
        manifest_sha256="ab",
    )
    assert info == {
        "started_at": "2025-01-01T00:00:00.000Z",
        "ended_at": "2025-01-01T00:01:30.500Z",
        "command_line": ["bulkboot", "apply", "x.yaml"],
        "region": None,
        "manifest": {"path": "x.yaml", "sha256": "ab"},
    }
