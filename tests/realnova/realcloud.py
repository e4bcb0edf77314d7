"""What the tests add to nova's fixture cloud before they run, and take away after.

The fixture cloud has one image, flavors without swap or ephemeral disk, no key pairs,
no server groups, and Nova's default quotas (10 instances). The parity corpus asks for
more: a flavor with room for swap and ephemeral disks, a key pair ``ops`` (key pairs
belong to a user: one for the member, one for the admin), a server group, and quotas
that several hundred short-lived servers fit in. ``.ci/nova`` itself adds the rest
(security groups ``web`` and ``db``, a volume snapshot; see docs/nova-ci.md).

Every server a test makes is deleted by ``Servers``: at once, and waited for where the
next test would trip over it (a port or a volume can be attached once at a time).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.realnova.service import NovaService

__all__ = ["PARITY_FLAVOR", "Servers", "TestCloud", "set_up", "tear_down"]

# A flavor the corpus's swap (up to 1,024 MiB) and ephemeral disks (up to 5 GiB) fit in.
PARITY_FLAVOR = {
    "id": "bulkboot-parity",
    "name": "bulkboot.parity",
    "ram": 512,
    "vcpus": 1,
    "disk": 1,
    "OS-FLV-EXT-DATA:ephemeral": 5,
    "swap": 1024,
}
# Quotas for the whole session (hundreds of servers, each deleted at once).
QUOTAS = {
    "instances": 1000,
    "cores": 2000,
    "ram": 2_048_000,
    "server_group_members": 1000,  # the corpus's servers all join one group
}
KEY_NAME = "ops"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestCloud:
    """The set-up's products: IDs a test maps the corpus's placeholders to."""

    __test__ = False  # not a test class, whatever pytest makes of the name

    flavor_id: str
    group_id: str
    quotas_before: dict[str, int]


def set_up(nova: NovaService) -> TestCloud:
    """Quotas up, the parity flavor, key pair ``ops`` for member and admin, a group."""
    status, body = nova.call("GET", f"/os-quota-sets/{nova.project_id}", admin=True)
    assert status == 200, body
    before = {k: int(body["quota_set"][k]) for k in QUOTAS}
    _ok(nova.call("PUT", f"/os-quota-sets/{nova.project_id}", {"quota_set": QUOTAS}, admin=True))
    nova.call("DELETE", f"/flavors/{PARITY_FLAVOR['id']}", admin=True)  # a previous run's
    _ok(nova.call("POST", "/flavors", {"flavor": PARITY_FLAVOR}, microversion="2.1", admin=True))
    for admin in (False, True):
        nova.call("DELETE", f"/os-keypairs/{KEY_NAME}", admin=admin)
        # before 2.92 Nova makes the key itself
        created = nova.call(
            "POST", "/os-keypairs", {"keypair": {"name": KEY_NAME}}, microversion="2.1", admin=admin
        )
        _ok(created)
    group = {"server_group": {"name": "bulkboot-parity", "policies": ["affinity"]}}
    status, body = nova.call("POST", "/os-server-groups", group, microversion="2.1")
    assert status == 200, body
    return TestCloud(
        flavor_id=PARITY_FLAVOR["id"],
        group_id=body["server_group"]["id"],
        quotas_before=before,
    )


def tear_down(nova: NovaService, cloud: TestCloud) -> None:
    """Everything ``set_up`` added goes, and the quotas are Nova's defaults again."""
    nova.call("DELETE", f"/os-server-groups/{cloud.group_id}")
    for admin in (False, True):
        nova.call("DELETE", f"/os-keypairs/{KEY_NAME}", admin=admin)
    nova.call("DELETE", f"/flavors/{cloud.flavor_id}", admin=True)
    nova.call(
        "PUT",
        f"/os-quota-sets/{nova.project_id}",
        {"quota_set": cloud.quotas_before},
        admin=True,
    )


def _ok(answer: tuple[int, Any]) -> None:
    status, body = answer
    assert status in (200, 201, 202, 204), (status, body)


@dataclass(slots=True)
class Servers:
    """The servers a module made: deleted at once, waited for when asked (and at the end)."""

    nova: NovaService
    pending: set[str] = field(default_factory=set)

    def delete(self, ids: Iterable[str], *, wait: bool = False) -> None:
        for server_id in ids:
            status, body = self.nova.call("DELETE", f"/servers/{server_id}", admin=True)
            assert status in (204, 404), (status, body)
            self.pending.add(server_id)
        if wait:
            self.wait()

    def made_by(self, reservation_id: str) -> list[str]:
        """The servers of one create request (all the members of a multi-create)."""
        status, body = self.nova.call(
            "GET", f"/servers/detail?reservation_id={reservation_id}", admin=True
        )
        assert status == 200, body
        return [s["id"] for s in body["servers"]]

    def made_with(self, server_id: str) -> list[str]:
        """Every server of the create whose answer named ``server_id`` (its first)."""
        status, body = self.nova.call("GET", f"/servers/{server_id}", admin=True)
        assert status == 200, body
        return self.made_by(body["server"]["OS-EXT-SRV-ATTR:reservation_id"])

    def wait(self, timeout: float = 120.0) -> None:
        """Until every server deleted so far is gone (or listed as DELETED)."""
        deadline = time.monotonic() + timeout
        while self.pending:
            status, body = self.nova.call("GET", "/servers/detail", admin=True)
            assert status == 200, body
            listed = {s["id"] for s in body["servers"] if s["status"] != "DELETED"}
            self.pending &= listed
            if not self.pending:
                return
            assert time.monotonic() < deadline, f"not gone after {timeout:.0f}s: {self.pending}"
            time.sleep(0.3)
