"""The simulator's copies of Nova's request rules, held to nova 34.0.0's own modules.

``bulkboot/simulator/nova_schema.py`` was transcribed from nova 31.0.0; the query
parameters the simulator takes are listed in ``listing.py`` and ``compute.py``. Here
nova 34's modules are read in the interpreter nova is installed in (``.ci/nova``'s
venv: another Python, another set of packages) and compared: the create schema Nova
applies at every microversion 2.0-2.104 (which also proves that nothing in the create
body changed after 2.94), and the query parameters of the server lists, the flavor
lists and the limits.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from bulkboot.simulator import compute, listing
from bulkboot.simulator.nova_schema import create_schema
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.timeout(120)]

# Run by nova's interpreter: prints what Nova 34 applies, as JSON.
READ_NOVA = """
import json, warnings
warnings.simplefilter("ignore")
from nova.api.openstack import api_version_request as avr
from nova.api.openstack.compute import flavors, limits, servers


def applied(method, attribute, minor):
    version = avr.APIVersionRequest(f"2.{minor}")
    for schema, low, high in getattr(method, attribute)._schemas:
        if version.matches(low, high):
            return schema
    return None


def keys(method, minor):
    return sorted(applied(method, "request_query_schemas", minor)["properties"])


print(json.dumps({
    "create": {m: applied(servers.ServersController.create, "request_body_schemas", m)
               for m in range(0, 105)},
    "servers_query": keys(servers.ServersController.index, 104),
    "flavors_query": {m: keys(flavors.FlavorsController.index, m) for m in (101, 102)},
    "limits_query": keys(limits.LimitsController.index, 104),
}, default=repr))
"""


@pytest.fixture(scope="module")
def nova34(nova: NovaService) -> dict[str, Any]:
    done = subprocess.run(
        [str(nova.venv_python), "-c", READ_NOVA],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    read: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return read


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def test_the_create_schema_is_novas_at_every_microversion(nova34: dict[str, Any]) -> None:
    differing = [
        minor
        for minor in range(0, 105)
        if as_json(create_schema(minor)) != nova34["create"][str(minor)]
    ]
    assert differing == []


def test_nothing_in_the_create_body_changed_after_2_94(nova34: dict[str, Any]) -> None:
    newest = nova34["create"]["104"]
    assert all(nova34["create"][str(minor)] == newest for minor in range(94, 105))


def test_the_query_parameters_the_simulator_takes_are_novas(nova34: dict[str, Any]) -> None:
    # the server lists (2.75+): Nova's names, plus nothing (keys starting "_" pass too)
    assert sorted(listing.QUERY_V273) == nova34["servers_query"]
    assert sorted(compute.FLAVOR_QUERY) == nova34["flavors_query"]["101"]
    assert sorted(compute.FLAVOR_QUERY_V2102) == nova34["flavors_query"]["102"]
    assert sorted(compute.LIMITS_QUERY) == nova34["limits_query"]
