"""bulkboot/commands/simulator.py: the foreground simulator, its flags and clean stops."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from bulkboot.cli import main
from bulkboot.commands.simulator import KNOB_HELP
from bulkboot.simulator import RunningSimulator, SimConfig

ROOT = Path(__file__).resolve().parents[2]


def _start(*flags: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkboot", "simulator", "--port", "0", *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            break
    else:
        process.kill()
        raise AssertionError(f"simulator did not start: {lines} {process.stderr}")
    base = lines[0].rsplit(" ", 1)[-1]
    return process, base, lines


Running = tuple[subprocess.Popen[str], str, list[str], Path]


@contextmanager
def _simulator_process(folder: Path) -> Iterator[Running]:
    clouds = folder / "clouds.yaml"
    process, base, lines = _start(
        "--write-clouds-yaml", str(clouds), "--error-fraction", "1", "--no-rate-limit-retry-after"
    )
    try:
        yield process, base, lines, clouds
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One simulator process for the tests that leave it running (starting one takes
    most of a second)."""
    with _simulator_process(tmp_path_factory.mktemp("simulator")) as running:
        yield running


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """A simulator process of the test's own, for the tests that stop it."""
    with _simulator_process(tmp_path) as process:
        yield process


def test_prints_auth_url_and_a_pasteable_clouds_entry(
    shared: Running,
) -> None:
    _, base, lines, clouds_file = shared
    assert lines[1] == f"auth URL: {base}/identity/v3"
    start = lines.index("clouds.yaml entry:") + 1
    entry = yaml.safe_load("\n".join(lines[start:-1]))
    assert entry["clouds"]["simulator"]["auth"]["auth_url"] == f"{base}/identity/v3"
    written = yaml.safe_load(clouds_file.read_text())
    assert written["clouds"]["simulator"] == entry["clouds"]["simulator"]


def test_flags_reach_the_running_simulator(
    shared: Running,
) -> None:
    _, base, _, _ = shared
    with urllib.request.urlopen(base + "/_sim/config", timeout=5) as response:
        config = json.load(response)
    assert config["error_fraction"] == 1.0
    assert config["rate_limit_retry_after"] is False


def test_openstacksdk_works_from_the_written_clouds_yaml(
    shared: Running,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import openstack
    from openstack.warnings import OpenStackDeprecationWarning

    _, _, _, clouds_file = shared
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_file))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpenStackDeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        conn = openstack.connect(cloud="simulator")
        try:
            assert "m1.tiny" in {f.name for f in conn.compute.flavors()}
        finally:
            conn.close()


def test_openstack_cli_works_from_the_written_clouds_yaml(
    shared: Running,
) -> None:
    """The promise of ``--write-clouds-yaml``: `OS_CLIENT_CONFIG_FILE=FILE openstack
    --os-cloud simulator server list` just works (python-openstackclient, unmodified,
    in a subprocess)."""
    # beside this Python first: a virtual environment's scripts need no activation
    openstack = shutil.which("openstack", path=str(Path(sys.executable).parent)) or shutil.which(
        "openstack"
    )
    assert openstack is not None, "python-openstackclient is a test dependency"
    _, _, _, clouds_file = shared
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_file))
    env.pop("OS_CLOUD", None)

    def cli(*words: str) -> str:
        done = subprocess.run(
            [openstack, "--os-cloud", "simulator", *words],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = json.loads(
        cli(
            "server",
            "create",
            "--image",
            "cirros-0.6.2",
            "--flavor",
            "m1.tiny",
            "--network",
            "private",
            "osc-vm",
            "-f",
            "json",
        )
    )
    listed = json.loads(cli("server", "list", "-f", "json"))
    assert [(s["ID"], s["Name"]) for s in listed] == [(created["id"], "osc-vm")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_sigterm_and_sigint(running: Running, signum: int) -> None:
    process, _, _, _ = running
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "bulkboot simulator stopped" in out
    assert "Traceback" not in err


def test_bad_flag_value_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulator", "--error-fraction", "2"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "bulkboot: error: --error-fraction: error_fraction must be between 0 and 1, not 2.0"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--max-microversion", "2.200"],
            "--max-microversion: max_microversion must be 2.104 at most (Nova 34's newest, "
            "the newest the simulator serves), not 2.200",
        ),
        (["--rate-limit", "nan"], "--rate-limit: rate_limit must be a finite number, not nan"),
        (
            ["--build-time-mean", "inf"],
            "--build-time-mean: build_time_mean must be a finite number, not inf",
        ),
        (
            ["--min-microversion", "2.50", "--max-microversion", "2.40"],
            "--min-microversion: min_microversion 2.50 must not exceed max_microversion 2.40",
        ),
    ],
)
def test_impossible_settings_are_usage_errors(flags: list[str], message: str) -> None:
    """Settings no cloud can have are refused before listening (a simulator that
    advertised 2.200, or a rate limit that never limits, would mislead every client).

    In a subprocess with a timeout: a regression listens until killed, not forever."""
    done = subprocess.run(
        [sys.executable, "-m", "bulkboot", "simulator", "--port", "0", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stderr.strip()) == (2, f"bulkboot: error: {message}")
    assert done.stdout == ""  # refused before listening


def test_busy_port_is_a_usage_error(
    simulator: RunningSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulator", "--port", str(simulator.port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bulkboot: error: cannot listen on 127.0.0.1:{simulator.port}")
    assert "Traceback" not in err


def test_every_knob_has_a_flag() -> None:
    assert set(KNOB_HELP) == {f.name for f in dataclasses.fields(SimConfig)}


# ----------------------------------------------------------------- --write-clouds-yaml FILE

REAL = """# my real clouds
clouds:
  prod:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: me
      password: real-password
"""


def _write_clouds(clouds: Path, *flags: str) -> tuple[list[str], dict[str, object]]:
    """Start a simulator that writes ``clouds`` (with ``flags``), stop it; what it
    printed and what the file holds."""
    process, _, lines = _start("--write-clouds-yaml", str(clouds), *flags)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    return lines, yaml.safe_load(clouds.read_text())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_clouds_yaml_is_private(shared: Running) -> None:
    _, _, lines, clouds_file = shared
    assert _mode(clouds_file) == 0o600
    assert f"wrote {clouds_file} (cloud 'simulator')" in lines


def _refused(*flags: str) -> subprocess.CompletedProcess[str]:
    """A simulator command line that must be refused before listening (in a process
    of its own with a timeout: a regression listens until killed, not forever)."""
    done = subprocess.run(
        [sys.executable, "-m", "bulkboot", "simulator", "--port", "0", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    return done


def test_someone_elses_clouds_yaml_is_never_replaced_unasked(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(REAL)
    captured = _refused("--write-clouds-yaml", str(clouds))
    assert captured.stderr == (
        f"bulkboot: error: --write-clouds-yaml {clouds}: the file exists and bulkboot did "
        "not write it for the simulator; it may hold real clouds and passwords, so it is "
        "left as it is. Use --merge to add the simulator's clouds to it (its other clouds "
        "are kept), --force to replace it, or another file\n"
    )
    assert captured.stdout == ""  # refused before the simulator started
    assert clouds.read_text() == REAL


def test_merge_adds_the_simulator_and_keeps_the_rest_and_the_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(REAL)
    real.chmod(0o640)
    link = tmp_path / "clouds.yaml"
    link.symlink_to(real)  # a clouds.yaml kept elsewhere: updated where it is
    lines, written = _write_clouds(link, "--merge")
    clouds = written["clouds"]
    assert isinstance(clouds, dict)
    assert clouds["prod"] == yaml.safe_load(REAL)["clouds"]["prod"]
    assert set(clouds) == {"prod", "simulator", "simulator-appcred"}
    assert _mode(real) == 0o640 and link.is_symlink()
    assert f"merged the simulator's clouds into {link} (cloud 'simulator')" in lines
    # merged again (a new port): the simulator's entries are updated, prod stays
    _, again = _write_clouds(link, "--merge")
    assert again["clouds"]["prod"] == clouds["prod"]  # type: ignore[index]


def test_force_replaces_and_its_own_file_is_replaced_without_asking(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(REAL)
    clouds.chmod(0o644)
    lines, written = _write_clouds(clouds, "--force")
    assert set(written["clouds"]) == {"simulator", "simulator-appcred"}  # type: ignore[arg-type]
    assert _mode(clouds) == 0o600 and f"replaced {clouds} (cloud 'simulator')" in lines
    lines, _ = _write_clouds(clouds)  # bulkboot's own file: no flag needed
    assert f"replaced {clouds} (cloud 'simulator')" in lines


def test_merge_refuses_what_is_not_a_clouds_yaml(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("- a list\n- not clouds\n")
    done = _refused("--write-clouds-yaml", str(notes), "--merge")
    assert "cannot merge into it: not a clouds.yaml" in done.stderr
    assert notes.read_text() == "- a list\n- not clouds\n"
    assert "go with --write-clouds-yaml" in _refused("--force").stderr
