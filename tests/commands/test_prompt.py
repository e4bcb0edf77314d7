"""Asking before acting (commands/_prompt.py, ``_runtime.confirmed``): on the terminal,
never into stdout; Ctrl-C and Ctrl-D at the question; nobody to ask; the run's clock.

The questions are asked of a real pseudo-terminal in a child process (``terminal``);
the child talks to the session simulator through the test's clouds.yaml.
"""

from __future__ import annotations

import io
import json
import os
import pty
import sys
import time
from pathlib import Path

import anyio
import pytest

from bulkboot.commands import _runtime as runtime
from bulkboot.commands._prompt import Terminal, ask
from bulkboot.engine.board import Board, RunHeader
from bulkboot.simulator.server import RunningSimulator
from bulkboot.ui.output import make_output
from tests.commands.cli_helpers import applied, destroy, run_cli
from tests.commands.terminal import CTRL_C, CTRL_D, TerminalRun

APPLY_QUESTION = (
    "6 to create, 0 to replace, 0 to delete, 0 unchanged: apply to fleet 'lab' on cloud "
    "'simulator'? [y/N] "
)
DESTROY_QUESTION = "delete 6 server(s) of fleet 'lab' on cloud 'simulator'? [y/N] "


def _on_terminal(lab: Path, clouds: Path, *args: str) -> TerminalRun:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))
    return TerminalRun([*args, str(lab), "--cloud", "simulator"], cwd=lab.parent, env=env)


def _requests(sim: RunningSimulator, key: str) -> int:
    return sum(sim.stats()["requests"].get(key, {}).values())


POSTS = "POST /compute/v2.1/servers"
DELETES = "DELETE /compute/v2.1/servers/{server_id}"


# ----------------------------------------------------------------- machine output stays clean


def test_apply_json_on_a_terminal_asks_there_and_stdout_is_one_json_document(
    sim: RunningSimulator, lab: Path, clouds: Path
) -> None:
    run = _on_terminal(lab, clouds, "apply", "--format", "json", "--poll-interval", "200ms")
    run.wait_for(APPLY_QUESTION)
    run.type(b"y\n")
    code, out = run.finish()
    assert code == 0, run.screen
    document = json.loads(out)  # the whole of stdout is one JSON document
    assert document["summary"]["counts"]["active"] == 6
    assert "[y/N]" not in out and APPLY_QUESTION in run.screen
    assert "authenticating at" in run.screen and "authenticating" not in out  # steps: stderr


def test_destroy_plain_on_a_terminal_asks_there_not_on_stdout(
    sim: RunningSimulator, lab: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab, "--yes")
    run = _on_terminal(lab, clouds, "destroy", "--format", "plain")
    run.wait_for(DESTROY_QUESTION)
    run.type(b"n\n")
    code, out = run.finish()
    assert code == 1
    assert "[y/N]" not in out and "nothing deleted" in out
    assert sim.stats()["servers_total"] == 6 and _requests(sim, DELETES) == 0
    run = _on_terminal(lab, clouds, "destroy", "--format", "plain")
    run.wait_for(DESTROY_QUESTION)
    run.type(b"yes\n")
    code, out = run.finish()
    assert code == 0 and sim.stats()["servers_total"] == 0


# ----------------------------------------------------------------- Ctrl-C and Ctrl-D


@pytest.mark.parametrize("command", ["apply", "destroy"])
def test_ctrl_c_at_the_question_stops_at_once_and_sends_nothing(
    sim: RunningSimulator,
    lab: Path,
    clouds: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    if command == "destroy":
        applied(capsys, lab, "--yes")
    posts = _requests(sim, POSTS)
    run = _on_terminal(lab, clouds, command, "--format", "plain")
    run.wait_for("[y/N] ")
    run.type(CTRL_C)  # and no Enter after it: it must not be needed
    code, out = run.finish()
    assert code == 130, run.screen
    assert "interrupted at the question: nothing was sent" in run.screen
    assert "Traceback" not in run.screen
    assert _requests(sim, POSTS) == posts and _requests(sim, DELETES) == 0


@pytest.mark.parametrize("command", ["apply", "destroy"])
def test_end_of_input_at_the_question_is_no(
    sim: RunningSimulator,
    lab: Path,
    clouds: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    if command == "destroy":
        applied(capsys, lab, "--yes")
    posts = _requests(sim, POSTS)
    run = _on_terminal(lab, clouds, command, "--format", "plain")
    run.wait_for("[y/N] ")
    run.type(CTRL_D)
    code, out = run.finish()
    assert code == 1, run.screen
    assert "no answer (end of input): taken as no" in out
    assert "internal error" not in run.screen and "EOFError" not in run.screen
    assert _requests(sim, POSTS) == posts and _requests(sim, DELETES) == 0


def test_the_question_of_a_converging_apply_is_its_summary_line_and_no_sends_nothing(
    sim: RunningSimulator, lab: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab, "--yes")
    lab.write_text(lab.read_text().replace("count: 5", "count: 3").replace("m1.small", "m1.tiny"))
    posts = _requests(sim, POSTS)
    run = _on_terminal(lab, clouds, "apply", "--replace-changed", "--prune", "--format", "plain")
    question = (
        "0 to create, 1 to replace, 2 to delete, 3 unchanged: apply to fleet 'lab' on cloud "
        "'simulator'? [y/N] "
    )
    run.wait_for(question)
    run.type(b"n\n")
    code, out = run.finish()
    assert code == 1, run.screen
    assert "nothing created, replaced or deleted" in out
    assert _requests(sim, POSTS) == posts and _requests(sim, DELETES) == 0


# ----------------------------------------------------------------- nobody to ask


def test_destroy_without_a_terminal_refuses_unless_yes_and_sends_nothing(
    sim: RunningSimulator,
    lab: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    applied(capsys, lab, "--yes")
    before = sim.stats()["requests_total"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # </dev/null: not a terminal
    code, out, err = destroy(capsys, lab, fmt="plain", yes=False)
    assert code == 2 and out == ""
    assert err == (
        "bulkboot: error: destroy would delete servers, and stdin is not a terminal to ask "
        "on first (a script, cron, CI, ssh without -t): add --yes to delete servers without "
        "asking; nothing was sent\n"
    )
    assert sim.stats()["requests_total"] == before  # not even a token request
    assert sim.stats()["servers_total"] == 6
    code, _, _ = destroy(capsys, lab, fmt="plain", yes=True)
    assert code == 0 and sim.stats()["servers_total"] == 0


def test_apply_without_a_terminal_creates_without_asking(
    sim: RunningSimulator,
    lab: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, _ = run_cli(capsys, "apply", str(lab), "--cloud", "simulator", "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["created"] == 6


def test_destroy_on_the_embedded_simulator_needs_no_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        "name: lab\ndefaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}\n"
        "servers:\n  - name: a\n"
    )
    code, out, _ = run_cli(capsys, "destroy", str(lab), "--cloud", "simulator", "--format", "plain")
    assert code == 0 and "no servers to delete" in out


# ----------------------------------------------------------------- the run's clock


def test_time_at_the_question_is_not_run_time(
    sim: RunningSimulator, lab: Path, clouds: Path, tmp_path: Path
) -> None:
    """The report's elapsed_seconds counts from the answer. Not a measure of speed:
    the run can only have begun after the answer was typed and ended before the test
    saw it exit, so its elapsed time fits between the two, however slow the machine."""
    report = tmp_path / "report.json"
    run = _on_terminal(lab, clouds, "apply", "--format", "json", "--report", str(report))
    run.wait_for(APPLY_QUESTION)
    time.sleep(1.5)  # a user thinking: run time only if counted from the start
    answered = time.monotonic()
    run.type(b"y\n")
    code, out = run.finish()
    ended = time.monotonic()
    assert code == 0, run.screen
    for elapsed in (
        json.loads(out)["summary"]["elapsed_seconds"],
        json.loads(report.read_text())["summary"]["elapsed_seconds"],
    ):
        assert 0 < elapsed <= ended - answered


HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="c",
    endpoint="http://nova",
    microversion="2.96",
    concurrency=1,
    rate=None,
)


@pytest.mark.anyio
async def test_the_board_starts_when_the_user_has_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On an injected clock: the question is shown at 10, answered at 36; the board
    (elapsed, servers/min, the report) starts at 36."""
    master, slave = pty.openpty()
    shown = os.fdopen(os.dup(slave), "w")
    monkeypatch.setattr(sys, "stdin", os.fdopen(os.dup(slave), "r"))
    monkeypatch.setattr(sys, "stderr", shown)
    now = [10.0]
    board = Board(header=HEADER, started_at=now[0])
    target = runtime.Target(config=None, embedded=False)  # type: ignore[arg-type]
    output = make_output("plain", out=io.StringIO())

    async def user() -> None:
        screen = b""
        while b"[y/N] " not in screen:
            await anyio.wait_readable(master)
            screen += os.read(master, 1024)
        now[0] = 36.0  # 26 s to think
        os.write(master, b"y\n")

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(user)
            go = await runtime.confirmed(
                "go?", yes=False, target=target, output=output, board=board, clock=lambda: now[0]
            )
    finally:
        for fd in (master, slave):
            os.close(fd)
        shown.close()
        sys.stdin.close()
    assert go and board.started_at == 36.0
    now[0] = 53.0
    assert board.snapshot(now[0]).elapsed == 17.0


@pytest.mark.anyio
async def test_ask_takes_only_y_or_yes() -> None:
    for typed, yes in ((b"y\n", True), (b" YES \n", True), (b"\n", False), (b"yep\n", False)):
        master, slave = pty.openpty()
        out = io.StringIO()
        try:
            os.write(master, typed)
            answer = await ask(Terminal(slave, out), "go?")
        finally:
            os.close(master)
            os.close(slave)
        assert (answer.yes, answer.end_of_input) == (yes, False)
        assert out.getvalue() == "go? [y/N] "


# ----------------------------------------------------------------- what it does meanwhile


def test_the_live_view_shows_each_step_then_asks_then_runs(
    sim: RunningSimulator, lab: Path, clouds: Path
) -> None:
    sim.configure(latency=0.3)  # every step takes a while, as on a distant cloud
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))
    args = ["apply", str(lab), "--cloud", "simulator", "--format", "live"]
    run = TerminalRun(args, cwd=lab.parent, env=env, stdout_too=True)
    run.wait_for(APPLY_QUESTION)
    screen = run.screen
    for step in (
        "authenticating at http://127.0.0.1:",
        "negotiating the compute microversion at http://127.0.0.1:",
        "resolving 1 image, 2 flavors, 1 network",
        "listing the fleet's servers",
        "checking the quota",
    ):
        assert step in screen
    run.type(b"y\n")
    code, _ = run.finish()
    assert code == 0, run.screen
    assert "all 6 servers ACTIVE" in run.screen
