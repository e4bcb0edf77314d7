"""The differential suite's own machinery (differential.py), without any cloud: what it
reads of an answer, how two answers compare, how the known differences are parsed.
These run everywhere; a harness that saw no difference could not fail the suite."""

from __future__ import annotations

from typing import Any

from tests.realnova.differential import Seen, Side, Step, compare, known_patterns

ROOT_SIM = "http://127.0.0.1:1000/compute"
ROOT_NOVA = "http://127.0.0.1:2000"
SERVER_SIM = "11111111-1111-4111-8111-111111111111"
SERVER_NOVA = "22222222-2222-4222-8222-222222222222"
STEP = Step(key="GET servers/id@2.96", method="GET", path="/v2.1/servers/{server:a}")


def side(root: str, server: str) -> Side:
    return Side(name=root, root=root, headers={}, names={"server:a": server})


def view(root: str, server: str, **extra: Any) -> dict[str, Any]:
    body = {
        "server": {
            "id": server,
            "status": "ACTIVE",
            "metadata": {"role": "web"},
            "links": [{"rel": "self", "href": f"{root}/v2.1/servers/{server}"}],
            "addresses": {"private": [{"addr": "10.0.0.5", "version": 4}]},
        }
    }
    body["server"].update(extra)
    return body


HEADERS = {
    "openstack-api-version": "compute 2.96",
    "x-openstack-nova-api-version": "2.96",
    "vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    "x-openstack-request-id": "req-3f0c5b1e-2d4a-4b6c-8e9f-0a1b2c3d4e5f",
    "x-compute-request-id": "req-3f0c5b1e-2d4a-4b6c-8e9f-0a1b2c3d4e5f",
    "content-type": "application/json",
}


def seen(root: str, server: str, body: Any, status: int = 200, **headers: str) -> Seen:
    return side(root, server).observe(status, {**HEADERS, **headers}, body)


def test_the_same_answer_from_both_compares_equal() -> None:
    sim = seen(ROOT_SIM, SERVER_SIM, view(ROOT_SIM, SERVER_SIM))
    # Nova sends Vary twice (one name each) and another address: neither is a difference
    nova = seen(
        ROOT_NOVA,
        SERVER_NOVA,
        view(
            ROOT_NOVA, SERVER_NOVA, addresses={"private": [{"addr": "192.168.1.3", "version": 4}]}
        ),
        vary="X-OpenStack-Nova-API-Version, OpenStack-API-Version",
    )
    assert compare(STEP, sim, nova) == []
    assert 'server.links[].href = "{root}/v2.1/servers/{server:a}"' in sim.values
    assert "server.metadata: map" in sim.shape and "server.metadata{}: str" in sim.shape


def test_each_kind_of_difference_is_reported() -> None:
    sim = seen(ROOT_SIM, SERVER_SIM, view(ROOT_SIM, SERVER_SIM, locked=False), vary="")
    nova = seen(
        ROOT_NOVA,
        SERVER_NOVA,
        view(ROOT_NOVA, SERVER_NOVA, status="BUILD", description=None),
        **{"content-type": "application/json; charset=UTF-8"},
    )
    found = compare(STEP, sim, nova)
    assert "GET servers/id@2.96 | body only in Nova: server.description: null" in found
    assert "GET servers/id@2.96 | body only in the simulator: server.locked: bool" in found
    assert 'GET servers/id@2.96 | value only in Nova: server.status = "BUILD"' in found
    assert 'GET servers/id@2.96 | value only in the simulator: server.status = "ACTIVE"' in found
    assert any(f.startswith("GET servers/id@2.96 | header vary: (absent)") for f in found)
    assert any("header content-type: application/json (Nova " in f for f in found)


def test_faults_compare_by_name_code_and_words_with_identities_as_placeholders() -> None:
    def fault(server: str, words: str = "could not be found.") -> dict[str, Any]:
        return {"itemNotFound": {"code": 404, "message": f"Instance {server} {words}"}}

    sim = seen(ROOT_SIM, SERVER_SIM, fault(SERVER_SIM), status=404)
    nova = seen(ROOT_NOVA, SERVER_NOVA, fault(SERVER_NOVA), status=404)
    assert sim.fault == ("itemNotFound", 404, "Instance {server:a} could not be found.")
    assert compare(STEP, sim, nova) == []
    other = seen(ROOT_NOVA, SERVER_NOVA, fault(SERVER_NOVA, "is gone."), status=404)
    assert len(compare(STEP, sim, other)) == 1
    assert compare(STEP, sim, seen(ROOT_NOVA, SERVER_NOVA, {}, status=200))[0].startswith(
        "GET servers/id@2.96 | status 404 (Nova 200)"
    )


def test_list_items_without_a_twin_are_left_out() -> None:
    nova = Side(name="nova", root=ROOT_NOVA, headers={}, names={}, skip_ids=frozenset({"6"}))
    body = {"flavors": [{"id": "1", "name": "m1.tiny"}, {"id": "6", "extra": True}]}
    observed = nova.observe(200, HEADERS, body)
    assert "flavors[].extra: bool" not in observed.shape
    assert 'flavors[].id = "1"' in observed.values


def test_a_request_id_of_another_shape_or_a_different_compute_id_is_seen() -> None:
    odd = seen(ROOT_SIM, SERVER_SIM, {}, **{"x-openstack-request-id": "abc"})
    assert odd.headers["request id"] == "abc"
    assert odd.headers["compute request id"] == "other"


def test_known_patterns_come_from_their_section_only() -> None:
    text = """\
## Something else

- `not this` — another section

## Known differences from Nova 34

Some words.

- `GET / (root) | header *` — the root has no request id here
- a bullet without a pattern (a note) is not one
- `POST servers*@2.1 | fault *`: reasons may follow a colon too

## After
- `nor this` — later section
"""
    assert known_patterns(text, "Known differences from Nova 34") == [
        ("GET / (root) | header *", "the root has no request id here"),
        ("POST servers*@2.1 | fault *", "reasons may follow a colon too"),
    ]
