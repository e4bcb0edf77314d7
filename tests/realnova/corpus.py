"""The novaclient-parity corpus (tests/pipeline/test_novaclient_parity.py) on real Nova.

The corpus names a catalogue that does not exist in nova's fixture cloud: images,
networks, volumes, a port, a snapshot, a server group, hosts ``compute-N``, volume
types ``ssd``. Here each of those is mapped to what the fixture cloud has, and nothing
else is touched: the body stays the one bulkboot builds for the case, only the
identities in it change (by exact value, or by value under a named key, never by a
substring). The names the corpus uses that the cloud has too (key pair ``ops``,
security groups ``default``/``web``/``db``, zone ``nova``) stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.pipeline import test_novaclient_parity as parity
from tests.pipeline.novaclient_oracle import CATALOG
from tests.realnova.realcloud import TestCloud
from tests.realnova.service import NovaService

__all__ = ["RealReferences", "needs_admin", "real_ids", "to_real"]

# The corpus's hosts and zones, by the key they sit under: the fixture's hosts are
# compute1..computeN (fake nodes named like their hosts).
_BY_KEY: Mapping[str, Mapping[str, str]] = {
    "host": {"compute-1": "compute1", "compute-2": "compute2", "compute-3": "compute3"},
    "hypervisor_hostname": {
        "compute-1.lab": "compute1",
        "compute-2.lab": "compute2",
        "compute-3.lab": "compute3",
    },
    "availability_zone": {"az1:host7": "nova:compute1"},
    "volume_type": {"ssd": "lvm-1", "fast": "lvm-1"},  # the Cinder fixture's one type
}
# Fields only an admin may send (Nova's policy): such a body goes to the admin mount.
_ADMIN_ONLY = ("host", "hypervisor_hostname")


@dataclass(frozen=True, slots=True)
class RealReferences:
    """``References`` for bulkboot's body builder: every catalogue name resolves to the
    fixture cloud's one image, the parity flavor, and the fixture network."""

    image_id: str
    flavor_id: str
    network_id: str

    def image(self, ref: str) -> str:
        return self.image_id

    def image_with(self, properties: Mapping[str, str]) -> str:
        return self.image_id

    def flavor(self, ref: str) -> str:
        return self.flavor_id

    def network(self, name: str) -> str:
        return self.network_id


def real_ids(nova: NovaService, cloud: TestCloud) -> dict[str, str]:
    """The corpus's IDs (as whole values) -> the fixture cloud's."""
    ids = {
        parity.VOLUME: nova.volume_id,
        parity.SNAPSHOT: nova.snapshot_id,
        parity.PORT: nova.port_id,
        parity.NET_ID: nova.network_id,
        parity.GROUP: cloud.group_id,
    }
    ids.update({image["id"]: nova.image_id for image in CATALOG["images"]})
    ids.update({network: nova.network_id for network in CATALOG["networks"].values()})
    return ids


def to_real(value: Any, ids: Mapping[str, str], key: str = "") -> Any:
    """``value`` with the corpus's identities replaced by the fixture cloud's."""
    if isinstance(value, dict):
        return {k: to_real(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_real(item, ids, key) for item in value]
    if isinstance(value, str):
        return _BY_KEY.get(key, {}).get(value) or ids.get(value, value)
    return value


def needs_admin(body: Mapping[str, Any]) -> bool:
    """Whether Nova's policy lets only an admin send this create (a host, a node, or a
    zone with a host in it)."""
    server = body["server"]
    zone = server.get("availability_zone")
    return any(field in server for field in _ADMIN_ONLY) or (isinstance(zone, str) and ":" in zone)
