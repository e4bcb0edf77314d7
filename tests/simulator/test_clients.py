"""The unmodified real clients against the simulator: if they disagree, the simulator is wrong.

openstacksdk (from a generated clouds.yaml) and python-novaclient (through a
keystoneauth session, with its shell's ``_poll_for_status`` for ``--poll``).
The simulator runs on a manual clock; while a client polls for a build or a delete,
its ``time.sleep`` between polls moves that clock instead (``polls_advance_the_clock``).
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from novaclient import api_versions
from novaclient import client as nova_client
from novaclient.v2 import shell as nova_shell
from openstack.warnings import OpenStackDeprecationWarning

from bulkboot.simulator import ManualClock, RunningSimulator
from bulkboot.simulator.config import DOMAIN, PASSWORD, PROJECT_NAME, USERNAME

# openstacksdk 4.x warns about its own deprecations (InfluxDB support, its proxies'
# arguments) on every connect and call: not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]


@pytest.fixture
def polls_advance_the_clock(sim_clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's sleep between two polls moves the simulator's clock, not the wall:
    the poll loop runs as it would against a cloud, without waiting for real."""
    monkeypatch.setattr(time, "sleep", sim_clock.advance)


@pytest.fixture
def conn(sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(sim.clouds_yaml()))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_PASSWORD", "OS_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    with warnings.catch_warnings():
        # fixture set-up runs outside the module's filterwarnings mark
        warnings.simplefilter("ignore", OpenStackDeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="openstack")
        connection = openstack.connect(cloud="simulator")
    try:
        yield connection
    finally:
        connection.close()


def test_openstacksdk_lists_flavors_images_networks(conn: Any) -> None:
    assert {f.name for f in conn.compute.flavors()} == {
        "m1.tiny",
        "m1.small",
        "m1.medium",
        "m1.large",
        "m1.xlarge",
    }
    small = conn.compute.find_flavor("m1.small")
    assert (small.vcpus, small.ram) == (1, 2048)
    images = {i.name for i in conn.image.images()}
    assert {"cirros-0.6.2", "ubuntu-24.04", "dup-image"} <= images
    ubuntu = conn.image.find_image("ubuntu-24.04")
    assert ubuntu.os_distro == "ubuntu"
    assert conn.network.find_network("private").name == "private"
    with pytest.raises(openstack.exceptions.DuplicateResource):
        conn.image.find_image("dup-image")


@pytest.mark.usefixtures("polls_advance_the_clock")
def test_openstacksdk_create_wait_list_delete(conn: Any, sim: RunningSimulator) -> None:
    image = conn.image.find_image("cirros-0.6.2")
    flavor = conn.compute.find_flavor("m1.tiny")
    network = conn.network.find_network("private")
    server = conn.compute.create_server(
        name="sdk-1",
        image_id=image.id,
        flavor_id=flavor.id,
        networks=[{"uuid": network.id}],
        metadata={"bulkboot:fleet": "sdk"},
        tags=["sdk-run"],
    )
    server = conn.compute.wait_for_server(server, interval=0.05, wait=10)
    assert server.status == "ACTIVE"
    assert server.addresses["private"][0]["addr"]
    assert server.metadata == {"bulkboot:fleet": "sdk"}
    named = list(conn.compute.servers(name="^sdk-"))
    assert [s.id for s in named] == [server.id]
    assert [s.id for s in conn.compute.servers(status="ACTIVE")] == [server.id]
    assert list(conn.compute.servers(status="ERROR")) == []
    assert [s.id for s in conn.compute.servers(tags="sdk-run")] == [server.id]
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.05, wait=10)
    assert list(conn.compute.servers()) == []


@pytest.mark.usefixtures("polls_advance_the_clock")
def test_openstacksdk_cloud_layer_create_server_waits(conn: Any) -> None:
    server = conn.create_server(
        "cloud-1",
        image="cirros-0.6.2",
        flavor="m1.small",
        network="private",
        wait=False,  # the cloud layer polls every 2 s; the proxy's wait is tunable
        auto_ip=False,
    )
    server = conn.compute.wait_for_server(server, interval=0.05, wait=10)
    assert server.status == "ACTIVE"
    assert server.image.id == "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
    assert conn.delete_server(server.id)


@pytest.mark.usefixtures("polls_advance_the_clock")
def test_openstacksdk_sees_an_error_fault(conn: Any, sim: RunningSimulator) -> None:
    sim.configure(error_fraction=1.0)
    server = conn.compute.create_server(
        name="doomed",
        image_id="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        flavor_id="1",
        networks="auto",
    )
    with pytest.raises(openstack.exceptions.ResourceFailure):
        conn.compute.wait_for_server(server, interval=0.05, wait=10)
    assert conn.compute.get_server(server.id).fault["message"].startswith("No valid host")


def test_openstacksdk_pages_across_max_limit_pages(conn: Any, sim: RunningSimulator) -> None:
    """openstacksdk asks for no limit and follows the simulator's ``servers_links`` page
    after page, each cut at Nova's ``[api]max_limit``. At 100 a page (1000 by default)
    three pages take 250 servers, not 2,500: openstacksdk spends ~2 ms parsing each."""
    sim.configure(max_limit=100)
    conn.compute.create_server(
        name="bulk",
        image_id="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        flavor_id="1",
        networks="none",
        min_count=250,
        max_count=250,
    )
    # brief listing: the paging logic is the same as the detailed one's
    servers = list(conn.compute.servers(details=False))
    assert len(servers) == 250
    assert len({s.id for s in servers}) == 250
    assert {s.name for s in servers} == {f"bulk-{i}" for i in range(1, 251)}
    pages = sim.stats()["requests"]["GET /compute/v2.1/servers"]["200"]
    assert pages >= 3  # 100 + 100 + 50 (+ the empty page some clients ask for)


def test_openstacksdk_reports_the_simulators_microversion_range(conn: Any) -> None:
    version = conn.compute.get_endpoint_data().max_microversion
    assert str(version[0]) == "2" and version[1] == 104


@pytest.fixture
def nova(sim: RunningSimulator) -> Iterator[Any]:
    auth = v3.Password(
        auth_url=sim.auth_url,
        username=USERNAME,
        password=PASSWORD,
        project_name=PROJECT_NAME,
        user_domain_name=DOMAIN,
        project_domain_name=DOMAIN,
    )
    session = ks_session.Session(auth=auth)
    try:
        # what the nova shell does for its default "2.latest": negotiate, then pin
        probe = nova_client.Client("2.1", session=session)
        version = api_versions.discover_version(probe, api_versions.APIVersion("2.latest"))
        yield nova_client.Client(version, session=session)
    finally:
        session.session.close()


@pytest.mark.usefixtures("polls_advance_the_clock")
def test_novaclient_boot_with_poll(nova: Any) -> None:
    assert str(nova.api_version.get_string()) == "2.96"
    flavor = nova.flavors.find(name="m1.small")
    server = nova.servers.create(
        "nova-1",
        image="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        flavor=flavor,
        nics=[{"net-id": "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d"}],
        meta={"bulkboot:fleet": "nova"},
    )
    out = io.StringIO()
    with redirect_stdout(out):
        nova_shell._poll_for_status(
            nova.servers.get, server.id, "building", ["active"], poll_period=0.05
        )
    assert "Finished" in out.getvalue()
    fetched = nova.servers.get(server.id)
    assert fetched.status == "ACTIVE"
    assert fetched.networks == {"private": [fetched.addresses["private"][0]["addr"]]}
    assert [s.id for s in nova.servers.list(search_opts={"name": "^nova-"})] == [server.id]
    nova.servers.delete(server)


def test_novaclient_sees_quota_403(nova: Any, sim: RunningSimulator) -> None:
    from novaclient import exceptions

    sim.configure(quota_instances=0)
    with pytest.raises(exceptions.Forbidden, match="Quota exceeded for instances"):
        nova.servers.create(
            "over",
            image="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
            flavor="1",
            nics="auto",
        )


def test_novaclient_multi_create_returns_reservation(nova: Any) -> None:
    reservation = nova.servers.create(
        "many",
        image="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        flavor="1",
        nics="none",
        min_count=3,
        max_count=3,
        reservation_id=True,
    )
    assert isinstance(reservation, str) and reservation.startswith("r-")
    servers = nova.servers.list(search_opts={"reservation_id": reservation})
    assert sorted(s.name for s in servers) == ["many-1", "many-2", "many-3"]


def test_openstacksdk_with_the_application_credential_cloud(
    sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(sim.clouds_yaml()))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpenStackDeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="openstack")
        connection = openstack.connect(cloud="simulator-appcred")
    try:
        assert "m1.tiny" in {f.name for f in connection.compute.flavors()}
    finally:
        connection.close()


def test_keystoneauth_reauthenticates_when_tokens_are_short_lived(
    conn: Any, sim: RunningSimulator
) -> None:
    # keystoneauth renews a token that expires within 120 s: with 1-second tokens a
    # real client keeps working and authenticates again instead of meeting 401s.
    sim.configure(token_lifetime=1.0)
    conn.compute.get_flavor("1")
    conn.compute.get_flavor("2")
    stats = sim.stats()
    assert stats["authentications"] >= 2
    assert "401" not in stats["requests"]["GET /compute/v2.1/flavors/{flavor_id}"]


@pytest.mark.usefixtures("polls_advance_the_clock")
def test_nova_shell_boot_with_poll_then_list(
    sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nova boot --poll` through novaclient's own shell: name look-ups in Glance,
    Neutron and Nova, the create, and its poll loop until ACTIVE (its 5 s between
    polls move the simulator's clock)."""
    from novaclient import shell

    for name, value in {
        "OS_AUTH_URL": sim.auth_url,
        "OS_USERNAME": USERNAME,
        "OS_PASSWORD": PASSWORD,
        "OS_PROJECT_NAME": PROJECT_NAME,
        "OS_USER_DOMAIN_NAME": DOMAIN,
        "OS_PROJECT_DOMAIN_NAME": DOMAIN,
    }.items():
        monkeypatch.setenv(name, value)
    boot = [
        "boot",
        "--image",
        "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        "--flavor",
        "m1.tiny",
        "--nic",
        "net-name=private",
        "--poll",
        "shell-vm",
    ]
    shell.OpenStackComputeShell().main(boot)
    out = capsys.readouterr().out
    assert "Finished" in out
    shell.OpenStackComputeShell().main(["list"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "shell-vm" in line)
    assert "ACTIVE" in row and "private=10.0." in row


def test_openstacksdk_polls_with_changes_since(
    conn: Any, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    from datetime import datetime, timezone

    sim.configure(build_time_mean=60.0, build_time_stddev=0.0)  # nothing changes by itself
    image, flavor = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51", "1"
    old = conn.compute.create_server(name="old", image_id=image, flavor_id=flavor, networks="none")
    sim_clock.advance(0.05)
    mark = datetime.fromtimestamp(sim_clock.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sim_clock.advance(0.05)  # the mark lies strictly between the two creates
    new = conn.compute.create_server(name="new", image_id=image, flavor_id=flavor, networks="none")
    changed = list(conn.compute.servers(changes_since=mark))
    assert [s.id for s in changed] == [new.id]
    conn.compute.delete_server(old)
    sim_clock.advance(0.15)  # the session's delete delay is 0.1 s
    changed = {s.id: s.status for s in conn.compute.servers(changes_since=mark)}
    assert changed == {new.id: "BUILD", old.id: "DELETED"}
