"""``bulkboot apply --report FILE`` against the simulator: the report holds no secret.

(The report is the engine's; this checks the cloud side feeds it nothing secret: no
password, application-credential secret, token or admin password.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bulkboot import cli
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import APP_CRED_SECRET, PASSWORD

FLEET = """\
name: secrets
cloud: CLOUD
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - {name: "s-{index}", count: 2, admin_pass: very-secret-admin}
"""


@pytest.mark.parametrize("cloud", ["simulator", "simulator-appcred"])
def test_report_file_holds_no_secrets(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cloud: str,
) -> None:
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sim.configure(build_time_mean=0.1, build_time_stddev=0.0)
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(FLEET.replace("CLOUD", cloud))
    report = tmp_path / "report.json"
    code = cli.main(["apply", str(manifest), "--yes", "--format", "plain", "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == 0, err
    text = report.read_text()
    json.loads(text)  # a whole JSON document
    assert "s-1" in text  # it is the report of this run
    for secret in (PASSWORD, APP_CRED_SECRET, "very-secret-admin", "gAAAAA"):
        assert secret not in text
        assert secret not in out and secret not in err


def test_a_password_in_the_cloud_urls_is_masked_everywhere_shown(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``auth_url: http://user:pw@host/...`` (and an endpoint override written the same
    way): the header, ``--debug``, the report and the journal show ``user:***@``."""
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sim.configure(build_time_mean=0.05, build_time_stddev=0.0)
    clouds = sim.clouds_yaml()
    entry = clouds["clouds"]["simulator"]
    entry["auth"]["auth_url"] = entry["auth"]["auth_url"].replace("://", "://proxy:url-pw@")
    entry["compute_endpoint_override"] = f"http://nova:url-pw@127.0.0.1:{sim.port}/compute/v2.1"
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(FLEET.replace("CLOUD", "simulator"))
    report = tmp_path / "report.json"
    code = cli.main(
        ["--debug", "apply", str(manifest), "--yes", "--format", "plain", "--report", str(report)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "(http://nova:***@127.0.0.1:" in out  # the header shows the endpoint, masked
    debug = caplog.text  # --debug's log (pytest holds the root logger's records)
    assert "proxy:***@" in debug  # the curl lines show the Keystone URL, masked
    journals = "".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    for text in (out, err, debug, report.read_text(), journals):
        assert "url-pw" not in text
