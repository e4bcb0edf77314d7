"""bulkboot/ui/steps.py: what is shown while bulkboot prepares a run."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from bulkboot.cloud.config import config_from_mapping
from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import ServerState
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.ui import steps
from bulkboot.ui.output import make_output
from bulkboot.ui.report import summarize


def test_where_never_shows_a_user_or_password() -> None:
    assert steps.where("https://admin:s3cret@keystone.example:5000/v3") == (
        "https://keystone.example:5000/v3"
    )
    assert steps.where("http://[::1]:5000/identity") == "http://[::1]:5000/identity"
    assert steps.where("http://host:99999999/x") == "(an unreadable URL)"


def _config(**auth: object) -> object:
    cloud = {
        "auth": {
            "auth_url": "http://u:pw@127.0.0.1:5000/v3",
            "username": "u",
            "password": "pw",
            "project_name": "p",
            "user_domain_name": "d",
            "project_domain_name": "d",
            **auth,
        }
    }
    return config_from_mapping({"clouds": {"lab": cloud}}, "lab")


def test_authenticating_names_the_endpoint_and_the_cloud() -> None:
    config = _config()
    assert steps.authenticating(config) == (  # type: ignore[arg-type]
        "authenticating at http://127.0.0.1:5000/v3 (cloud lab)"
    )
    none = config_from_mapping(
        {"clouds": {"n": {"auth_type": "none", "compute_endpoint_override": "http://h/v2.1"}}}, "n"
    )
    assert steps.authenticating(none) is None  # no Keystone: nothing to say


def test_resolving_counts_distinct_references(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "name: f\n"
        "defaults: {image: cirros, flavor: m1.tiny, networks: [{net-name: private}]}\n"
        "servers:\n"
        "  - {name: 'a-{index}', count: 50}\n"
        "  - {name: b, image: ubuntu, flavor: m1.small,"
        " networks: [{net-name: private}, {net-id: 0b5e3c4e-0000-4000-8000-000000000001}]}\n"
        "  - {name: c, image_with: {os: debian}, networks: none}\n"
    )
    manifest = load_manifest(path)
    assert steps.resolving(manifest) == "resolving 3 images, 2 flavors, 2 networks"


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system=None)
    return console, out


def test_live_steps_show_each_step_then_give_way_to_the_run() -> None:
    console, out = _terminal()
    output = make_output("live", console=console)
    now = [0.0]
    shown = steps.LiveSteps(console, clock=lambda: now[0])
    output._steps = shown  # type: ignore[attr-defined]  # the injected clock
    output.step("authenticating at http://k:5000/v3 (cloud lab)")
    now[0] = 7.0  # a cloud slow to answer: the wait so far is shown
    output.step(None)  # a step with nothing to say changes nothing
    shown._live.refresh()  # type: ignore[union-attr]
    output.step("resolving 1 image, 1 flavor")
    header = RunHeader(
        command="apply",
        fleet="lab",
        cloud="c",
        endpoint="http://n",
        microversion="2.96",
        concurrency=1,
        rate=None,
    )
    board = Board(header=header, started_at=7.0)
    board.add([ServerState(name="a")])
    output.start(header, board.snapshot(7.0), [])  # one live display at a time: no error
    summary = summarize([], command="apply", fleet="lab", elapsed=0.0)
    output.finish(summary, board.snapshot(8.0, done=True), {})
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "authenticating at http://k:5000/v3 (cloud lab) (7s)" in text
    assert "resolving 1 image, 1 flavor" in text
    assert "bulkboot apply lab" in text


def test_plain_steps_are_lines_and_json_steps_stay_off_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    plain = make_output("plain", out=out)
    plain.step("authenticating at http://k/v3 (cloud lab)")
    plain.step(None)
    assert out.getvalue() == "authenticating at http://k/v3 (cloud lab)\n"
    out = io.StringIO()
    json_output = make_output("json", out=out, err=err)
    json_output.step("authenticating at http://k/v3 (cloud lab)")
    assert out.getvalue() == "" and err.getvalue() == ""  # stderr not a terminal: quiet
