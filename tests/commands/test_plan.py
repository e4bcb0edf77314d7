"""``bulkboot plan FILE --offline``: the JSON document, the table, exit codes, no network."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkboot import cli
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.microversion import parse
from bulkboot.pipeline.spec import AS_WRITTEN
from bulkboot.simulator import RunningSimulator
from tests.commands.cli_helpers import use_simulator
from tests.pipeline.bodies import build_request

REPO = Path(__file__).resolve().parents[2]


class _AnyMark:
    """Equal to any spec mark (``1:...``): the fingerprint's own tests hold its value."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("1:")

    __hash__ = None  # type: ignore[assignment]


ANY_MARK = _AnyMark()

LAB = """
name: lab
defaults:
  image: cirros-0.6.2
  flavor: m1.small
  networks:
    - {net-name: private}
servers:
  - name: "web-{index:02d}"
    count: 3
    metadata: {role: web}
    user_data_text: "#cloud-config\\n"
  - name: batch
    flavor: m1.large
    min_count: 2
    max_count: 5
    networks: none
  - name: db
    boot_volume: 0b5e3c4e-3333-4000-8000-000000000001
    admin_pass: "hunter2-not-for-logs"
    tags: [db]
"""


def write(tmp_path: Path, text: str, name: str = "lab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["plan", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = plan(capsys, *argv, "--offline", "--format", "json")
    assert (code, err) == (0, "")
    document: dict[str, Any] = json.loads(out)
    return document


# ----------------------------------------------------------------- --format json


def test_json_document_field_by_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, LAB)
    document = plan_json(capsys, str(path))
    assert list(document) == ["fleet", "microversion", "requests"]
    assert document["fleet"] == "lab"
    assert document["microversion"] == "2.104"  # `auto` offline: the newest supported
    requests = document["requests"]
    # One request per server, one per multi-create group, in manifest order.
    assert [r["name"] for r in requests] == ["web-01", "web-02", "web-03", "batch", "db"]
    for request in requests:
        assert list(request) == ["name", "method", "path", "body"]
        assert (request["method"], request["path"]) == ("POST", "/servers")
        assert request["body"]["server"]["name"] == request["name"]
        assert request["body"]["server"]["metadata"][FLEET_MARK_KEY] == "lab"

    web = requests[0]["body"]["server"]
    assert web["imageRef"] == "cirros-0.6.2"  # offline: references as written
    assert web["flavorRef"] == "m1.small"
    assert web["networks"] == [{"uuid": "private"}]
    assert web["metadata"] == {"role": "web", FLEET_MARK_KEY: "lab", SPEC_MARK_KEY: ANY_MARK}
    assert web["user_data"] == "I2Nsb3VkLWNvbmZpZwo="  # base64 of "#cloud-config\n"
    assert (web["min_count"], web["max_count"]) == (1, 1)

    batch = requests[3]["body"]["server"]
    assert (batch["min_count"], batch["max_count"], batch["networks"]) == (2, 5, "none")
    assert batch["flavorRef"] == "m1.large"

    db = requests[4]["body"]["server"]
    assert db["imageRef"] == ""
    assert db["block_device_mapping_v2"] == [
        {
            "uuid": "0b5e3c4e-3333-4000-8000-000000000001",
            "source_type": "volume",
            "destination_type": "volume",
            "boot_index": 0,
            "delete_on_termination": False,
        }
    ]
    assert db["tags"] == ["db"]


def test_json_bodies_are_the_pipelines_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAB)
    document = plan_json(capsys, str(path))
    manifest = load_manifest(path)
    expected = [build_request(s, AS_WRITTEN, parse("2.104")) for s in manifest.servers]
    expected[4]["body"]["server"]["adminPass"] = "***"
    assert document["requests"] == expected


def test_the_admin_password_never_reaches_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAB)
    document = plan_json(capsys, str(path))
    assert document["requests"][4]["body"]["server"]["adminPass"] == "***"
    for fmt in ("json", "table"):
        code, out, err = plan(capsys, str(path), "--offline", "--format", fmt)
        assert code == 0
        assert "hunter2" not in out + err


def test_microversion_flag_changes_the_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "servers:\n  - {name: a, image: cirros, flavor: m1.small}\n")
    document = plan_json(capsys, str(path), "--microversion", "2.36")
    assert document["microversion"] == "2.36"
    assert all("networks" not in r["body"]["server"] for r in document["requests"])
    document = plan_json(capsys, str(path), "--microversion", "2.37")
    assert all(r["body"]["server"]["networks"] == "auto" for r in document["requests"])


def test_the_manifests_microversion_is_used_unless_the_flag_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, 'microversion: "2.52"\n' + LAB)
    assert plan_json(capsys, str(path))["microversion"] == "2.52"
    assert plan_json(capsys, str(path), "--microversion", "2.74")["microversion"] == "2.74"
    assert plan_json(capsys, str(path), "--microversion", "auto")["microversion"] == "2.104"


def test_plan_offline_opens_no_socket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("plan --offline tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    path = write(tmp_path, LAB)
    assert plan_json(capsys, str(path))["fleet"] == "lab"


# ----------------------------------------------------------------- --format table


def test_table_shows_alike_servers_on_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAB)
    code, out, err = plan(capsys, str(path), "--offline")
    assert (code, err) == (0, "")
    assert "fleet lab" in out
    for heading in ("name", "image", "flavor", "networks", "count"):
        assert heading in out
    lines = out.splitlines()
    web = next(line for line in lines if "web-01" in line)
    assert "web-03" in web and "cirros-0.6.2" in web and "private" in web
    assert web.rstrip().endswith("3")
    batch = next(line for line in lines if "batch" in line)
    assert "m1.large" in batch and "none" in batch and "2-5" in batch
    at = next(i for i, line in enumerate(lines) if line.startswith("db "))
    assert "volume" in lines[at]
    assert "0b5e3c4e-3333" in lines[at] + lines[at + 1]  # long IDs fold in their column
    assert "5 requests, 9 servers; compute 2.104" in " ".join(out.split())


def test_online_table_shows_names_as_written_with_short_ids_one_line_a_row(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")
    path = write(
        tmp_path,
        "name: lab\n"
        "defaults: {image: cirros-0.6.2, flavor: m1.small, networks: [{net-name: private}]}\n"
        "servers:\n"
        "  - {name: 'web-{index:02d}', count: 40}\n"
        "  - {name: worker, image: ubuntu-24.04, flavor: m1.tiny,"
        " networks: [{net-name: private}, {net-name: public}]}\n",
    )
    code, out, err = plan(capsys, str(path), "--cloud", "simulator")
    assert (code, err) == (0, "")
    document = plan_json_online(capsys, path)
    web, worker = (
        document["requests"][0]["body"]["server"],
        document["requests"][-1]["body"]["server"],
    )
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    # online, each row starts with what apply would do: + create (an empty cloud)
    row = next(line for line in lines if line.startswith("+  web-01 … web-40"))
    image, network = web["imageRef"], web["networks"][0]["uuid"]
    assert f"cirros-0.6.2 ({image[:4]}…)" in row
    assert f"m1.small ({web['flavorRef']})" in row  # a short ID shows whole
    assert f"private ({network[:4]}…)" in row and row.rstrip().endswith("40")
    at = next(i for i, line in enumerate(lines) if line.startswith("+  worker"))
    assert f"ubuntu-24.04 ({worker['imageRef'][:4]}…)" in lines[at]
    public = worker["networks"][1]["uuid"]
    assert f"public ({public[:4]}…)" in lines[at + 1]  # one line per network


def plan_json_online(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    code, out, err = plan(capsys, str(path), "--cloud", "simulator", "--format", "json")
    assert (code, err) == (0, "")
    document: dict[str, Any] = json.loads(out)
    return document


# ----------------------------------------------------------------- refusals and exit codes


def test_invalid_manifest_exits_2_and_prints_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "servers:\n  - name: x\n    flavor: m1.small\n    imagee: cirros\n")
    code, out, err = plan(capsys, str(path), "--offline", "--format", "json")
    assert code == 2
    assert out == ""
    assert f"{path}:4:5:" in err and "imagee" in err
    assert "Traceback" not in err


def test_rule_broken_at_the_chosen_microversion_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAB)
    code, out, err = plan(capsys, str(path), "--offline", "--microversion", "2.36")
    assert (code, out) == (2, "")
    assert "tags" in err and "2.52" in err
    assert "networks" in err and "2.37" in err


def test_bad_microversion_flag_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAB)
    code, out, err = plan(capsys, str(path), "--offline", "--microversion", "2.200")
    assert (code, out) == (2, "")
    assert err.startswith("bulkboot: error: --microversion:")
    assert "2.200" in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = plan(capsys, str(tmp_path / "nope.yaml"), "--offline")
    assert (code, out) == (2, "")
    assert "nope.yaml" in err and "cannot read" in err


def test_online_plan_resolves_names_and_creates_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sim: RunningSimulator,
) -> None:
    """Without --offline: the same document, names resolved by the cloud, no POST sent."""
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    monkeypatch.chdir(tmp_path)
    for variable in ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_AUTH_URL"):
        monkeypatch.delenv(variable, raising=False)
    path = write(tmp_path, LAB.replace("    networks: none\n", ""))
    code, out, err = plan(capsys, str(path), "--cloud", "simulator", "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    offline = plan_json(capsys, str(path))
    assert [r["name"] for r in document["requests"]] == [r["name"] for r in offline["requests"]]
    web = document["requests"][0]["body"]["server"]
    assert web["imageRef"] != "cirros-0.6.2" and _is_uuid(web["imageRef"])
    assert web["networks"] != [{"uuid": "private"}] and _is_uuid(web["networks"][0]["uuid"])
    assert web["flavorRef"] != "m1.small"
    posts = [route for route in sim.stats()["requests"] if route.startswith("POST")]
    assert all("servers" not in route for route in posts), posts


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_unknown_format_is_refused_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["plan", str(write(tmp_path, LAB)), "--offline", "--format", "yaml"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_demo_manifest_plans_offline(capsys: pytest.CaptureFixture[str]) -> None:
    """README's first command: `bulkboot plan manifests/demo.yaml --offline`."""
    code, out, err = plan(capsys, str(REPO / "manifests" / "demo.yaml"), "--offline")
    assert (code, err) == (0, "")
    assert "fleet demo" in out


def test_json_has_one_request_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, str(write(tmp_path, LAB)), "--offline", "--format", "json")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == '{"fleet": "lab", "microversion": "2.104", "requests": ['
    assert [json.loads(line.rstrip(","))["name"] for line in lines[1:-1]] == [
        "web-01", "web-02", "web-03", "batch", "db",
    ]  # fmt: skip
    assert lines[-1] == "]}"
