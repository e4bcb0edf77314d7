"""Running the apply/status/destroy commands against the test simulator.

A clouds.yaml in the test's folder names the session simulator "simulator" (so the
command talks to it instead of starting the embedded one). In-process runs go through
``cli.main``; the Ctrl-C and SIGKILL tests need a process of their own
(``start_apply``), stopped once its journal shows creates on their way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkboot import cli
from bulkboot.simulator.server import RunningSimulator

REPO = Path(__file__).resolve().parents[2]

LAB = """name: lab
microversion: auto
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks:
    - {net-name: private}
servers:
  - name: "web-{index:02d}"
    count: 5
    metadata: {role: web}
  - name: db
    flavor: m1.small
    admin_pass: "hunter2-not-for-logs"
"""


def use_simulator(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    api_timeout: float | None = None,
) -> Path:
    """A clouds.yaml naming ``sim`` "simulator" in ``tmp_path``, made the current
    folder. ``api_timeout``: the cloud's request timeout, which is also how long a
    create sent and never answered (a killed run's) is waited for."""
    clouds = tmp_path / "clouds.yaml"
    document = sim.clouds_yaml()
    if api_timeout is not None:
        document["clouds"]["simulator"]["api_timeout"] = api_timeout
    clouds.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.chdir(tmp_path)
    return clouds


def write_lab(tmp_path: Path, text: str = LAB) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def write_fleet(tmp_path: Path, name: str, count: int) -> Path:
    """A manifest ``NAME.yaml`` of one group of ``count`` tiny servers ``NAME-000``..."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndefaults:\n  image: cirros-0.6.2\n  flavor: m1.tiny\n  networks: none\n"
        f'servers:\n  - name: "{name}-{{index:03d}}"\n    count: {count}\n'
    )
    return path


def journal_of(path: Path, cloud: str = "simulator") -> Path:
    """The journal a manifest's runs on ``cloud`` write (beside it, per cloud, named for
    its fleet: here always its stem)."""
    return path.parent / ".bulkboot" / cloud / f"{path.stem}.jsonl"


# ----------------------------------------------------------------- in-process runs


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def apply(
    capsys: pytest.CaptureFixture[str],
    path: Path,
    *flags: str,
    fmt: str | None = "json",
    poll: str | None = "200ms",
) -> tuple[int, str, str]:
    """``bulkboot apply PATH --cloud simulator --format FMT --poll-interval POLL FLAGS``
    (``None`` leaves a flag out)."""
    argv = ["apply", str(path), "--cloud", "simulator"]
    argv += ["--format", fmt] if fmt is not None else []
    argv += ["--poll-interval", poll] if poll is not None else []
    return run_cli(capsys, *argv, *flags)


def applied(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> dict[str, Any]:
    """The fleet booted (``apply`` exited 0): its JSON document."""
    code, out, err = apply(capsys, path, *flags)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def destroy(
    capsys: pytest.CaptureFixture[str],
    path: Path,
    *flags: str,
    fmt: str = "json",
    yes: bool = True,
) -> tuple[int, str, str]:
    """``bulkboot destroy PATH --cloud simulator [--yes] --format FMT FLAGS``."""
    argv = ["destroy", str(path), "--cloud", "simulator", *(["--yes"] if yes else [])]
    return run_cli(capsys, *argv, "--format", fmt, *flags)


def status(
    capsys: pytest.CaptureFixture[str], path: Path, *, fmt: str | None = None
) -> tuple[int, str, str]:
    """``bulkboot status PATH --cloud simulator [--format FMT]``."""
    argv = ["status", str(path), "--cloud", "simulator"]
    return run_cli(capsys, *argv, *(["--format", fmt] if fmt is not None else []))


# ----------------------------------------------------------------- a process of its own


def start_apply(
    path: Path, clouds: Path, *flags: str, capture: bool = True
) -> subprocess.Popen[str]:
    """``python -m bulkboot apply PATH --cloud simulator --format plain FLAGS`` in a child
    process of this checkout, with the test's clouds.yaml; its output kept for
    ``communicate`` (``capture``) or thrown away."""
    return start_command("apply", path, clouds, *flags, capture=capture)


def start_command(
    command: str, path: Path, clouds: Path, *flags: str, capture: bool = True
) -> subprocess.Popen[str]:
    """``python -m bulkboot COMMAND PATH --cloud simulator --format plain FLAGS`` (and
    ``--yes`` for destroy) in a child process, as ``start_apply``."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    yes = ["--yes"] if command == "destroy" else []
    return subprocess.Popen(
        [sys.executable, "-m", "bulkboot", command, str(path), "--cloud", "simulator"]
        + ["--format", "plain", *yes, *flags],
        cwd=path.parent,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO)),
        stdout=output,
        stderr=output,
        text=True,
    )


def wait_for_sends(journal: Path, count: int, *, timeout: float = 20.0) -> None:
    """Until the journal shows ``count`` creates sent (or ``timeout`` seconds pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"ev":"sent"') >= count:
            return
        time.sleep(0.01)


def interrupt(process: subprocess.Popen[str], *, times: int = 1) -> None:
    """Ctrl-C, ``times`` times; the pause between lets the process see each one (two
    SIGINTs pending at once are one)."""
    for time_ in range(times):
        if time_:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGINT)


def interrupted_apply(path: Path, clouds: Path, *, times: int) -> tuple[int, str, str]:
    """A child ``apply --concurrency 4`` of ``path``, Ctrl-C'd ``times`` times once 12
    creates are on their way: its exit code, output and errors."""
    process = start_apply(path, clouds, "--concurrency", "4")
    wait_for_sends(journal_of(path), 12)
    interrupt(process, times=times)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL: no handler runs, nothing is flushed or finished."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def given_token_cloud(
    sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, lifetime: float
) -> None:
    """A clouds.yaml in ``tmp_path`` (made the current folder) whose cloud "given"
    authenticates with a token of ``sim`` that lives ``lifetime`` seconds: once it has
    expired, it cannot be renewed."""
    import urllib.request

    from bulkboot.simulator.config import PASSWORD

    sim.configure(token_lifetime=lifetime)
    clouds = sim.clouds_yaml()
    auth = clouds["clouds"]["simulator"]["auth"]
    body = {
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
    request = urllib.request.Request(
        auth["auth_url"] + "/auth/tokens",
        data=json.dumps(body).encode(),
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
