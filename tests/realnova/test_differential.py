"""The simulator held to Nova 34, request by request (differential.py says how).

One script, sent in the same order to the simulator (the session's, reset first) and to
the real nova-api, as each cloud's project admin (the simulator's only user is one):
versions, flavors, limits, then at each of 2.1, 2.37, 2.47, 2.52, 2.74, 2.90, 2.96 and
2.104 a server made, shown, listed (brief, detail, by name, paged, changes-since),
refused bodies, unknown query parameters, deleted, looked for and deleted again, and
listed after the delete; then microversion errors and the 2.102/2.103 changes.

Every difference found must be listed, with its reason, in docs/simulator.md under
"Known differences from Nova 34" (a pattern per bullet), and every listed pattern must
still match a difference: a new difference fails the suite, and so does a fixed one
left in the list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import FLAVORS, IMAGES, NETWORKS
from tests.realnova.differential import Seen, Side, Step, compare, known_patterns
from tests.realnova.service import ADMIN_HEADERS, NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.timeout(600)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"
HEADING = "Known differences from Nova 34"
VERSIONS = ("2.1", "2.37", "2.47", "2.52", "2.74", "2.90", "2.96", "2.104")
GONE = "00000000-0000-4000-8000-000000000000"


def server_body(name: str, microversion: str) -> dict[str, object]:
    server: dict[str, object] = {
        "name": name,
        "imageRef": "{image}",
        "flavorRef": "1",
        "networks": [{"uuid": "{network}"}],
        "metadata": {"role": "diff"},
    }
    if microversion != "2.1":
        server["description"] = "differential"
    return {"server": server, "os:scheduler_hints": {"different_cell": "c1"}}


def bad_body(**server: object) -> dict[str, object]:
    return {"server": {"name": "bad", "networks": [{"uuid": "{network}"}], **server}}


def get(key: str, path: str, mv: str | None, **more: object) -> Step:
    """``GET`` below /v2.1 at ``mv``; the key names the request and its version."""
    at = "" if mv is None else f"@{mv}"
    return Step(key=f"GET {key}{at}", method="GET", path="/v2.1" + path, microversion=mv, **more)  # type: ignore[arg-type]


def per_version(mv: str) -> list[Step]:
    """The requests made at one microversion around one server, ``s<mv>``."""
    name = f"s{mv}"
    server = f"/servers/{{server:{name}}}"
    # changes-since with the name too: both clouds list exactly this server (the
    # simulator runs faster; a bare window would hold different neighbours)
    changes = f"/servers/detail?changes-since={{since:{name}}}&name=^{name}$"

    def post(key: str, body: object, **more: object) -> Step:
        return Step(key=f"POST servers {key}@{mv}", method="POST", path="/v2.1/servers",
                    microversion=mv, body=body, **more)  # type: ignore[arg-type]  # fmt: skip

    def delete(key: str) -> Step:
        return Step(key=f"DELETE servers/id{key}@{mv}", method="DELETE", path="/v2.1" + server,
                    microversion=mv)  # fmt: skip

    return [
        get("/v2.1/", "/", mv),
        get("flavors", "/flavors", mv),
        get("flavors/detail", "/flavors/detail", mv),
        get("flavors/1", "/flavors/1", mv),
        get("flavors/404", "/flavors/404", mv),
        get("limits", "/limits", mv),
        post("(one)", server_body(name, mv), capture=name),
        get("servers/id active", server, mv, wait=("ACTIVE", name)),
        get("servers", "/servers", mv),
        get("servers/detail?name", f"/servers/detail?name=^{name}$", mv),
        get("servers/detail?limit=1", "/servers/detail?limit=1", mv),
        get("servers/detail?changes-since", changes, mv),
        get("servers?bogus", "/servers?bogus=1", mv),
        get("servers/id?bogus", server + "?bogus=1", mv),
        post("no flavorRef", {"server": {"name": "bad"}}),
        post("unknown flavor", bad_body(imageRef="{image}", flavorRef="999")),
        post("unknown image", bad_body(imageRef=GONE, flavorRef="1")),
        delete(""),
        get("servers/id gone", server, mv, wait=("gone", name)),
        delete(" gone"),
        get("servers/detail?changes-since after delete", changes, mv),
    ]


def script() -> list[Step]:
    steps = [
        Step(key="GET / (root)", method="GET", path="/"),
        get("/v2.1/ (no version)", "/", None),
    ]
    for mv in VERSIONS:
        steps += per_version(mv)
    return [
        *steps,
        get("servers", "/servers", "2.105"),
        get("servers", "/servers", "3.0"),
        get("servers", "/servers", "2.x"),
        get("servers", "/servers", "latest"),
        get(
            "servers (legacy header 2.50)",
            "/servers",
            None,
            headers={"X-OpenStack-Nova-API-Version": "2.50"},
        ),
        get("flavors?name", "/flavors?name=m1.tiny", "2.74"),
        get("flavors?name", "/flavors?name=m1.tiny", "2.101"),
        get("flavors?name", "/flavors?name=m1.tiny", "2.102"),
        get("flavors?name (a regex)", "/flavors?name=%5Em1%5C.(small%7Clarge)%24", "2.104"),
        get("flavors/1?bogus", "/flavors/1?bogus=1", "2.101"),
        get("flavors/1?bogus", "/flavors/1?bogus=1", "2.102"),
        get("flavors?bogus", "/flavors?bogus=1", "2.75"),
        get("limits?bogus", "/limits?bogus=1", "2.75"),
        get("limits", "/limits", "2.57"),
        get("os-volumes_boot", "/os-volumes_boot", "2.102"),
        get("os-volumes_boot", "/os-volumes_boot", "2.103"),
        # deleted while being scheduled (Nova's build request): gone without a trace
        Step(
            key="POST servers (to delete at once)@2.104",
            method="POST",
            path="/v2.1/servers",
            microversion="2.104",
            body=server_body("quick", "2.104"),
            capture="quick",
            batch="quick",
        ),
        get("servers/id while scheduled", "/servers/{server:quick}", "2.104", batch="quick"),
        get(
            "servers/detail?name while scheduled",
            "/servers/detail?name=^quick$",
            "2.104",
            batch="quick",
        ),
        Step(
            key="DELETE servers/id while scheduled@2.104",
            method="DELETE",
            path="/v2.1/servers/{server:quick}",
            microversion="2.104",
            batch="quick",
        ),
        get("servers/id deleted while scheduled", "/servers/{server:quick}", "2.104"),
        get(
            "servers/detail?changes-since deleted while scheduled",
            "/servers/detail?changes-since={since:quick}&name=^quick$",
            "2.104",
        ),
        # the same, for a server sent without scheduler hints
        Step(
            key="POST servers (no hints, to delete at once)@2.104",
            method="POST",
            path="/v2.1/servers",
            microversion="2.104",
            body={"server": server_body("plain", "2.104")["server"]},
            capture="plain",
            batch="plain",
        ),
        get(
            "servers/id while scheduled (no hints)",
            "/servers/{server:plain}",
            "2.104",
            batch="plain",
        ),
        get(
            "servers/detail?name while scheduled (no hints)",
            "/servers/detail?name=^plain$",
            "2.104",
            batch="plain",
        ),
        Step(
            key="DELETE servers/id while scheduled (no hints)@2.104",
            method="DELETE",
            path="/v2.1/servers/{server:plain}",
            microversion="2.104",
            batch="plain",
        ),
        get("unknown path", "/no-such-thing", "2.1"),
        Step(key="PUT flavors (no route)", method="PUT", path="/v2.1/flavors", microversion="2.1"),
        Step(
            key="POST servers malformed JSON@2.1",
            method="POST",
            path="/v2.1/servers",
            microversion="2.1",
            body="{not json",
        ),
        # last: the simulator makes a server for the unknown group (see docs)
        Step(
            key="POST servers group hint as a list@2.104",
            method="POST",
            path="/v2.1/servers",
            microversion="2.104",
            body={**server_body("bad", "2.104"), "os:scheduler_hints": {"group": [GONE]}},
        ),
        Step(
            key="POST servers group hint unknown@2.104",
            method="POST",
            path="/v2.1/servers",
            microversion="2.104",
            body={**server_body("bad", "2.104"), "os:scheduler_hints": {"group": GONE}},
        ),
    ]


def sim_token(simulator: RunningSimulator) -> str:
    import json
    import urllib.request

    from bulkboot.simulator.config import DOMAIN, PASSWORD, PROJECT_NAME, USERNAME

    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": USERNAME, "domain": {"name": DOMAIN}, "password": PASSWORD}
                },
            },
            "scope": {"project": {"name": PROJECT_NAME, "domain": {"name": DOMAIN}}},
        }
    }
    request = urllib.request.Request(
        simulator.auth_url + "/auth/tokens",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return str(response.headers["X-Subject-Token"])


@pytest.fixture(scope="module")
def outcome(
    nova: NovaService, simulator: RunningSimulator
) -> Iterator[list[tuple[Step, Seen, Seen]]]:
    """The script run on both: (step, the simulator's answer, Nova's answer) per request."""
    leftovers = [s["id"] for s in nova.servers() if s["status"] != "DELETED"]
    assert leftovers == [], "the project must start empty: listings are compared"
    simulator.reset()
    image = next(i for i in IMAGES if i.name == "cirros-0.6.2")
    private = next(n for n in NETWORKS if n.name == "private")
    sim = Side(
        name="simulator",
        root=simulator.base_url + "/compute",
        headers={"X-Auth-Token": sim_token(simulator)},
        names={"image": image.id, "network": private.id},
    )
    real_root = nova.url.rsplit("/v2.1", 1)[0]
    twins = {f.id for f in FLAVORS}
    real = Side(
        name="nova",
        root=real_root,
        headers=dict(ADMIN_HEADERS),
        names={"image": nova.image_id, "network": nova.network_id},
        # the fixture cloud's flavor 6 (m1.tiny.specs) has no simulator twin
        skip_ids=frozenset({"6"} - twins),
    )
    answers: list[tuple[Step, Seen, Seen]] = []
    try:
        steps = script()
        while steps:
            batch = [steps.pop(0)]
            while steps and batch[0].batch is not None and steps[0].batch == batch[0].batch:
                batch.append(steps.pop(0))
            on_sim = [sim.run(step) for step in batch]
            on_nova = [real.run(step) for step in batch]
            answers += zip(batch, on_sim, on_nova, strict=True)
        yield answers
    finally:
        for name, value in list(real.names.items()):
            if name.startswith("server:"):
                nova.call("DELETE", f"/servers/{value}", admin=True)
        simulator.reset()


def differences(outcome: list[tuple[Step, Seen, Seen]]) -> list[str]:
    return [d for step, sim, real in outcome for d in compare(step, sim, real)]


def test_the_script_covers_what_the_issue_asks(outcome: list[tuple[Step, Seen, Seen]]) -> None:
    """At least 60 distinct requests, at every named microversion, Nova's newest too."""
    keys = [step.key for step, _, _ in outcome]
    assert len(set(keys)) == len(keys) >= 60
    versions = {step.microversion for step, _, _ in outcome}
    assert set(VERSIONS) <= versions


def test_every_difference_is_known_and_every_known_one_is_found(
    outcome: list[tuple[Step, Seen, Seen]],
) -> None:
    found = differences(outcome)
    text = DOC.read_text(encoding="utf-8")
    assert f"\n## {HEADING}\n" in text, f"docs/simulator.md has no section {HEADING!r}"
    known = known_patterns(text, HEADING)
    assert all(reason for _, reason in known), "each known difference says why"
    unknown = [d for d in found if not any(fnmatch.fnmatchcase(d, p) for p, _ in known)]
    stale = [p for p, _ in known if not any(fnmatch.fnmatchcase(d, p) for d in found)]
    assert unknown == [], "differences not in docs/simulator.md:\n" + "\n".join(unknown)
    assert stale == [], "listed in docs/simulator.md but no longer found:\n" + "\n".join(stale)
