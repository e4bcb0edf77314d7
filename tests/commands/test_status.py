"""``bulkboot status``: servers, addresses, missing ones and drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands.cli_helpers import applied, status, write_lab


def test_status_json_shows_servers_missing_and_drift(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = status(capsys, lab, fmt="json")
    assert code == 1
    document = json.loads(out)
    assert document["counts"] == {"MISSING": 6}
    assert document["servers"][0]["note"] == "not created yet"

    applied(capsys, lab)
    # the manifest shrinks: web-04 and web-05 become drift
    lab.write_text(lab.read_text().replace("count: 5", "count: 3"))
    code, out, _ = status(capsys, lab, fmt="json")
    assert code == 0
    document = json.loads(out)
    assert document["fleet"] == "lab" and document["cloud"] == "simulator"
    assert document["counts"] == {"ACTIVE": 4}
    assert [s["name"] for s in document["servers"]] == ["web-01", "web-02", "web-03", "db"]
    for server in document["servers"]:
        assert server["addresses"].startswith("private=10.0.")
        assert server["in_manifest"] is True and len(server["id"]) == 36
    assert [d["name"] for d in document["drift"]] == ["web-04", "web-05"]
    assert all(d["note"] == "drift: no longer in the manifest" for d in document["drift"])


def test_status_table(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applied(capsys, lab)
    code, out, _ = status(capsys, lab)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "fleet lab on simulator: 6 ACTIVE; 0 drift"
    assert lines[1].split() == ["server", "status", "id", "addresses", "note"]
    assert lines[2].split()[:2] == ["web-01", "ACTIVE"]
    assert len(lines) == 8


def test_status_on_the_embedded_simulator_says_it_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    path = write_lab(tmp_path)
    code, out, err = status(capsys, path)
    assert "embedded simulator" in err and "it has none of your servers" in err
    assert code == 1
