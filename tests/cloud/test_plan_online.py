"""``bulkboot plan FILE --cloud NAME``: resolved requests, and nothing created.

(The online mode is the cloud client's part of bulkboot/commands/plan.py.)
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from bulkboot import cli
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import plan
from bulkboot.errors import BulkbootError, ServerError
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import IMAGES, NETWORKS
from tests.cloud.stubs import stub_nova_in_thread

LAB = """\
name: lab
cloud: CLOUD
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: [{net-name: private}]}
servers:
  - {name: "web-{index}", count: 2, admin_pass: very-secret-admin}
"""


# The default retry policy's attempts, without its back-off.
NO_WAIT = HttpOptions(retry=RetryPolicy(base_delay=0.001, max_delay=0.001))


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No clouds.yaml or OS_* from this machine: only what the test writes."""
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["plan", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_online_plan_resolves_and_creates_nothing(
    sim: RunningSimulator, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    manifest = isolated / "lab.yaml"
    manifest.write_text(LAB.replace("CLOUD", "simulator-appcred"))
    code, out, err = run(capsys, str(manifest), "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["microversion"] == "2.104"
    server = document["requests"][0]["body"]["server"]
    assert server["imageRef"] == next(i.id for i in IMAGES if i.name == "cirros-0.6.2")
    assert server["networks"] == [{"uuid": next(n.id for n in NETWORKS if n.name == "private")}]
    assert "very-secret-admin" not in out
    stats = sim.stats()
    assert "POST /compute/v2.1/servers" not in stats["requests"]
    assert stats["servers_total"] == 0


def test_cloud_flag_beats_the_manifest(
    sim: RunningSimulator, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    manifest = isolated / "lab.yaml"
    manifest.write_text(LAB.replace("CLOUD", "nowhere"))
    code, out, _ = run(capsys, str(manifest), "--cloud", "simulator", "--microversion", "2.60")
    assert code == 0
    assert "compute 2.60" in out


def test_embedded_simulator_when_no_cloud_of_that_name(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = isolated / "lab.yaml"
    manifest.write_text(LAB.replace("CLOUD", "simulator"))
    code, out, err = run(capsys, str(manifest), "--format", "json")
    assert (code, err) == (0, "")
    assert [r["name"] for r in json.loads(out)["requests"]] == ["web-1", "web-2"]


def test_unresolvable_names_exit_2_with_places(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = isolated / "lab.yaml"
    manifest.write_text(
        textwrap.dedent(LAB.replace("CLOUD", "simulator")).replace("m1.tiny", "m1.nope")
    )
    code, out, err = run(capsys, str(manifest))
    assert (code, out) == (2, "")
    assert f"{manifest}:3:" in err and "no flavor has the ID or name 'm1.nope'" in err
    assert "Traceback" not in err


def test_bad_config_exit_2(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "clouds.yaml").write_text("clouds:\n  c:\n    auth: {auth_url: nope}\n")
    manifest = isolated / "lab.yaml"
    manifest.write_text(LAB.replace("CLOUD", "c"))
    code, out, err = run(capsys, str(manifest))
    assert (code, out) == (2, "")
    assert f"{isolated / 'clouds.yaml'}:3:" in err and "auth_url" in err


def test_debug_output_of_a_whole_command_has_no_secrets(isolated: Path) -> None:
    """`bulkboot --debug plan ... --cloud simulator`: every request logged, no secret."""
    import subprocess
    import sys

    from bulkboot.simulator.config import PASSWORD

    manifest = isolated / "lab.yaml"
    manifest.write_text(LAB.replace("CLOUD", "simulator"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(HOME=str(isolated), PYTHONPATH=str(Path(__file__).parents[2]))
    done = subprocess.run(
        [sys.executable, "-m", "bulkboot", "--debug", "plan", str(manifest)],
        capture_output=True,
        text=True,
        cwd=isolated,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "REQ: curl -g -i -X POST" in done.stderr  # the token request was logged
    assert "GET /image/v2/images" in done.stderr or "/image/v2/images" in done.stderr
    for secret in (PASSWORD, "very-secret-admin"):
        assert secret not in done.stderr and secret not in done.stdout
    assert "gAAAAA" not in done.stderr  # the simulator's tokens all start so
    assert "X-Auth-Token: ***" in done.stderr
    tokens = [line for line in done.stderr.splitlines() if "X-Subject-Token" in line]
    assert tokens and all("'X-Subject-Token': '***'" in line for line in tokens)


def test_an_api_error_while_resolving_is_one_clear_message(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command run in-process as the CLI runs it, with retries that do not wait: the
    500 is retried as often as in a run, then raised as the one error the CLI prints."""
    served: list[int] = []

    async def flavors(request: web.Request) -> web.Response:
        served.append(500)
        return web.json_response(
            {"computeFault": {"code": 500, "message": "Unexpected API Error."}}, status=500
        )

    manifest = isolated / "st.yaml"
    manifest.write_text(
        f"name: st\ndefaults: {{image: {IMAGES[0].id}, flavor: m1.small, networks: none}}\n"
        "servers:\n  - name: a\n"
    )
    with stub_nova_in_thread([("GET", "/flavors/detail", flavors)]) as url:
        (isolated / "clouds.yaml").write_text(
            yaml.safe_dump(
                {"clouds": {"noauth": {"auth_type": "none", "compute_endpoint_override": url}}}
            )
        )
        argv = ["plan", str(manifest), "--cloud", "noauth"]
        args = cli.build_parser(argv).parse_args(argv)
        # a BulkbootError is what the CLI prints as "bulkboot: error: ..." with its exit
        # code; anything else (an ExceptionGroup) would be an "internal error"
        with pytest.raises(BulkbootError) as info:
            plan.run_online(args, options=NO_WAIT)
    assert (info.value.exit_code, capsys.readouterr().out) == (1, "")
    assert type(info.value) is ServerError
    assert "Unexpected API Error. (HTTP 500, GET http://127.0.0.1:" in str(info.value)
    assert served == [500] * RetryPolicy().max_attempts
