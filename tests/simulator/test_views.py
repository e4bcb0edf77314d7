"""bulkboot/simulator/views.py: Nova's server and flavor views, per microversion."""

from __future__ import annotations

import pytest

from bulkboot.simulator.config import FLAVORS, NETWORKS
from bulkboot.simulator.records import OUTCOME_ERROR, OUTCOME_NEVER, ServerRecord
from bulkboot.simulator.views import address_of, flavor_detail, server_detail

BASE = "http://127.0.0.1:1"
T0 = 1_700_000_000.0


def _record(**fields: object) -> ServerRecord:
    values: dict[str, object] = {
        "seq": 3,
        "id": "11111111-2222-4333-8444-555555555555",
        "name": "web-1",
        "created": T0,
        "ready_at": T0 + 10,
        "outcome": 0,
        "flavor": FLAVORS[2],
        "image_id": "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        "nics": ((NETWORKS[0], None),),
        "reservation_id": "r-abc",
        "metadata": {"bulkboot:fleet": "lab"},
        "tags": ("t1",),
        "description": "d",
    }
    values.update(fields)
    return ServerRecord(**values)  # type: ignore[arg-type]


def test_build_then_active() -> None:
    record = _record()
    building = server_detail(BASE, record, T0 + 5, 96)
    assert building["status"] == "BUILD"
    assert building["OS-EXT-STS:vm_state"] == "building"
    assert building["OS-EXT-STS:task_state"] == "spawning"
    assert building["progress"] == 50
    assert building["addresses"] == {}
    assert building["created"] == "2023-11-14T22:13:20Z"
    active = server_detail(BASE, record, T0 + 11, 96)
    assert active["status"] == "ACTIVE"
    assert active["OS-EXT-STS:power_state"] == 1
    assert active["updated"] == "2023-11-14T22:13:30Z"
    (address,) = active["addresses"]["private"]
    assert address["addr"] == address_of(NETWORKS[0], None, 3)
    assert address["OS-EXT-IPS:type"] == "fixed"
    assert active["links"][0]["href"] == f"{BASE}/compute/v2.1/servers/{record.id}"
    assert active["tenant_id"] and active["user_id"]


def test_error_carries_a_fault_and_no_progress() -> None:
    view = server_detail(BASE, _record(outcome=OUTCOME_ERROR), T0 + 11, 96)
    assert view["status"] == "ERROR"
    assert view["fault"]["code"] == 500
    assert view["fault"]["created"] == "2023-11-14T22:13:30Z"
    assert "progress" not in view


def test_never_finishing_stays_in_build_at_zero() -> None:
    view = server_detail(BASE, _record(outcome=OUTCOME_NEVER), T0 + 1000, 96)
    assert (view["status"], view["progress"]) == ("BUILD", 0)


def test_deleting_then_deleted() -> None:
    record = _record()
    record.deleted_at = T0 + 20
    record.gone_at = T0 + 21
    deleting = server_detail(BASE, record, T0 + 20.5, 96)
    assert (deleting["status"], deleting["OS-EXT-STS:task_state"]) == ("ACTIVE", "deleting")
    gone = server_detail(BASE, record, T0 + 22, 96)
    assert gone["status"] == "DELETED"
    assert gone["OS-SRV-USG:terminated_at"] is not None


@pytest.mark.parametrize(
    ("field", "first_minor"),
    [
        ("locked", 9),
        ("description", 19),
        ("tags", 26),
        ("trusted_image_certificates", 63),
        ("locked_reason", 73),
        ("pinned_availability_zone", 96),
    ],
)
def test_fields_appear_at_their_microversion(field: str, first_minor: int) -> None:
    record = _record()
    assert field not in server_detail(BASE, record, T0 + 11, first_minor - 1)
    assert field in server_detail(BASE, record, T0 + 11, first_minor)


def test_flavor_is_embedded_from_2_47() -> None:
    record = _record()
    assert server_detail(BASE, record, T0, 46)["flavor"]["id"] == "3"
    embedded = server_detail(BASE, record, T0, 47)["flavor"]
    assert embedded["original_name"] == "m1.medium"
    assert (embedded["vcpus"], embedded["ram"]) == (2, 4096)


def test_flavor_detail_swap_and_extra_specs_by_version() -> None:
    assert flavor_detail(BASE, FLAVORS[0], 74)["swap"] == ""
    assert flavor_detail(BASE, FLAVORS[0], 75)["swap"] == 0
    assert "extra_specs" not in flavor_detail(BASE, FLAVORS[0], 60)
    assert flavor_detail(BASE, FLAVORS[0], 61)["extra_specs"] == {}


def test_boot_from_volume_image_is_empty_string() -> None:
    assert server_detail(BASE, _record(image_id=""), T0, 96)["image"] == ""
