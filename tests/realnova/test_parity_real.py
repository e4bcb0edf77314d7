"""The novaclient-parity corpus, sent by bulkboot to Nova 34 itself.

tests/pipeline/test_novaclient_parity.py proves bulkboot's bodies equal novaclient's and
pass the simulator's copy of Nova's schema. Here each body goes to real nova-api at its
microversion through bulkboot's own client (``Compute.create_server``), with the
corpus's identities mapped to the fixture cloud's (corpus.py): every body the corpus
accepts must be answered 202, and every server bulkboot refuses offline must be one
Nova refuses too, in the words below. Where the two disagree the case is named here
with Nova's answer and the reason bulkboot keeps its rule.

Each server made is deleted at once (waited for when the next case would share its
port, volume or snapshot); the module waits for all of them at the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.compute import CreateRequest
from bulkboot.cloud.config import CloudConfig
from bulkboot.errors import ApiError
from bulkboot.pipeline.microversion import MAX_SUPPORTED, parse
from tests.pipeline import test_novaclient_parity as parity
from tests.pipeline.bodies import build_body
from tests.realnova.corpus import RealReferences, needs_admin, real_ids, to_real
from tests.realnova.realcloud import Servers, TestCloud
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.anyio, pytest.mark.timeout(120)]

# Accepted by bulkboot (and novaclient), refused by Nova 34 as the fixture cloud runs it.
NOVA_REFUSES_ACCEPTED = {
    # [DEFAULT] max_local_block_devices, 3 by default, counts the image's local disk,
    # every ephemeral disk and swap: 1 + 2 + 1. A deployment setting, not an API rule;
    # bulkboot's validation has no limit for it (see the report in docs/nova-ci.md).
    "ephemeral-swap-2.1": "You specified more local devices than the limit allows",
}

# What Nova answers each body bulkboot refuses offline (status, words in the message).
NOVA_SAYS: dict[str, tuple[int, str]] = {
    "description-before-2.19": (400, "Additional properties are not allowed ('description'"),
    "tags-before-2.52": (400, "Additional properties are not allowed ('tags'"),
    "files-from-2.57": (400, "Additional properties are not allowed ('personality'"),
    "certs-before-2.63": (400, "('trusted_image_certificates' was unexpected)"),
    "host-before-2.74": (400, "Additional properties are not allowed ('host'"),
    "hypervisor-hostname-before-2.74": (400, "('hypervisor_hostname' was unexpected)"),
    "hostname-before-2.90": (400, "Additional properties are not allowed ('hostname'"),
    "nic-auto-before-2.37": (400, "'auto' is not of type 'array'"),
    "nic-none-2.1": (400, "'none' is not of type 'array'"),
    "nic-tag-2.31": (400, "Additional properties are not allowed ('tag' was unexpected)"),
    "nic-tag-2.37": (400, "is not valid under any of the given schemas"),
    "nic-tag-2.41": (400, "is not valid under any of the given schemas"),
    "bdm-tag-2.31": (400, "Additional properties are not allowed ('tag' was unexpected)"),
    "bdm-tag-2.33": (400, "Additional properties are not allowed ('tag' was unexpected)"),
    "bdm-volume-type-2.66": (400, "('volume_type' was unexpected)"),
    "bdm-bad-source": (400, "'cdrom' is not one of ['volume', 'image', 'snapshot', 'blank']"),
    "bdm-bad-dest": (400, "'remote' is not one of ['local', 'volume']"),
    "min-count-0": (400, "0 is less than the minimum of 1"),
    "max-count-0": (400, "0 is less than the minimum of 1"),
    "min-above-max": (400, "min_count must be <= max_count"),
    "no-flavor": (400, "'' should be non-empty"),
    "no-boot-source": (400, "Missing imageRef attribute"),
    "image-and-boot-volume": (400, "Boot sequence for the instance and image/block device"),
    "boot-volume-and-snapshot": (400, "Boot sequence for the instance and image/block device"),
    "legacy-and-new-bdm": (400, "Using different block_device_mapping syntaxes"),
    "nic-no-target": (400, "Bad network format: missing 'uuid'"),
    "nic-bad-ipv4": (400, "'10.0.0.300' is not valid under any of the given schemas"),
    "nic-bad-ipv6": (400, "'2001:db8::g' is not valid under any of the given schemas"),
    # STRICTER: bulkboot refuses what novaclient sends, because Nova refuses it
    "bdm-size-not-a-number": (400, "'ten' does not match '^[0-9]+$'"),
    "disk-config-case": (400, "'auto' is not one of ['AUTO', 'MANUAL']"),
    "access-ip-v4": (400, "'300.1.1.1' is not a 'ipv4'"),
    "access-ip-v6": (400, "'2001:db8::g' is not a 'ipv6'"),
    "hostname-underscore-2.90": (400, "'web_01' does not match"),
    "hostname-multi": (400, "Unable to allocate a single hostname to multiple instances"),
    "fixed-ip-multi": (400, "max_count cannot be greater than 1 if an fixed_ip is specified"),
    "port-multi": (400, "Unable to launch multiple instances with a single configured port"),
    "net-id-not-uuid-2.37": (400, "is not valid under any of the given schemas"),
    "tag-with-slash": (400, "'a/b' does not match '^[^,/]*$'"),
    "tag-too-long": (400, "is too long"),
    "metadata-key": (400, "'a/b' does not match any of the regexes"),
    "metadata-value": (400, "is too long"),
    "description-too-long": (400, "is too long"),
    "name-too-long": (400, "is too long"),
    "user-data-too-big": (400, "is too long"),
    "hint-group-not-uuid": (400, "'my-group' is not valid under any of the given schemas"),
    "host-with-space": (400, "'compute 1' does not match '^[a-zA-Z0-9-._]*$'"),
    "swap-0": (400, "0 is less than the minimum of 1"),
    "ephemeral-size-0": (400, "0 is less than the minimum of 1"),
    "certs-twice": (400, "has non-unique elements"),
    "cert-empty": (400, "'' should be non-empty"),
    "key-name-space": (400, "Can not start or end with whitespace"),
    "security-group-space": (400, "Can not start or end with whitespace"),
    "certs-boot-from-volume": (400, "Image certificate validation is not supported"),
    "bdm-volume-without-id": (400, "Missing device UUID"),
    # REFUSED_BY_LIMITS: Nova's 403 (OverQuota)
    "metadata-items": (403, "Maximum number of metadata items exceeds 128"),
    "six-files": (403, "Personality file limit exceeded"),
}

# bulkboot refuses, Nova accepts: each kept on purpose, for the reason given.
NOVA_ACCEPTS_REFUSED = {
    # novaclient's --nic takes net-id or port-id, not both; Nova takes a nic with both
    # and boots on the port (the network must be the port's). The manifest keeps
    # novaclient's rule: a nic is a network or a port, and says which.
    "nic-net-and-port": "a nic with both uuid and port: Nova uses the port",
    # Deliberate (DIVERGENT in the parity tests): "exactly one boot source". Nova
    # never sees image_with (a client-side look-up), only the imageRef.
    "image-and-image-with": "image_with is resolved by the client; Nova sees one imageRef",
}

# Values with no place on the wire: bulkboot (and novaclient) refuse the manifest's
# word before any body exists, so there is nothing Nova could be asked.
NO_WIRE_FORM = {
    "bdm-bad-shutdown": "delete_on_termination is a boolean: 'keep' has no wire form",
    "nic-v4-and-v6": "a Nova nic holds one fixed_ip: both a v4 and a v6 cannot be sent",
}


def _case_id(case: Any) -> str:
    return str(case.id).split(":")[0]


def _needs_quiet(body: Mapping[str, Any], nova: NovaService) -> bool:
    """Whether the body attaches the port or the volume, which the next case may too."""
    text = repr(body)
    return nova.port_id in text or nova.volume_id in text or nova.snapshot_id in text


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    status: int
    message: str  # Nova's, for an error


async def send(
    clouds: dict[str, CloudConfig],
    servers: Servers,
    nova: NovaService,
    body: dict[str, Any],
    microversion: str,
) -> Sent:
    """POST the body through bulkboot's client at ``microversion``; delete what it made."""
    config = clouds["admin" if needs_admin(body) else "member"]
    server = body["server"]
    async with open_cloud(config) as cloud:
        assert str(await cloud.compute.negotiate(microversion)) == microversion
        request = CreateRequest(
            body=body,
            name=server["name"],
            instance_count=int(server.get("max_count", 1)),
            fleet=str(server.get("metadata", {}).get("bulkboot:fleet", "")),
        )
        try:
            created = await cloud.compute.create_server(request)
        except ApiError as exc:
            return Sent(status=exc.http_status, message=exc.message)
    if created.id is None:
        ids = servers.made_by(str(created.reservation_id))
    elif request.instance_count > 1:  # the answer names the first server only
        ids = servers.made_with(created.id)
    else:
        ids = [created.id]
    assert ids, "a create answered 202 made nothing"
    servers.delete(ids, wait=_needs_quiet(body, nova))
    return Sent(status=202, message="")


def real_body(
    spec: Any, microversion: str, nova: NovaService, test_cloud: TestCloud
) -> dict[str, Any]:
    """bulkboot's body for the spec at the version, on the fixture cloud's identities."""
    refs = RealReferences(nova.image_id, test_cloud.flavor_id, nova.network_id)
    body = build_body(spec, refs, parse(microversion))
    mapped: dict[str, Any] = to_real(body, real_ids(nova, test_cloud))
    return mapped


ACCEPTED = [*parity.CASES]


@pytest.mark.parametrize(("microversion", "fields"), ACCEPTED)
async def test_nova_accepts_every_body_of_the_corpus(
    request: pytest.FixtureRequest,
    microversion: str,
    fields: dict[str, Any],
    nova: NovaService,
    test_cloud: TestCloud,
    clouds: dict[str, CloudConfig],
    servers: Servers,
) -> None:
    case = _case_id(request.node.callspec)
    body = real_body(parity.make_spec(**fields), microversion, nova, test_cloud)
    sent = await send(clouds, servers, nova, body, microversion)
    if case in NOVA_REFUSES_ACCEPTED:
        assert (sent.status, NOVA_REFUSES_ACCEPTED[case] in sent.message) == (400, True), sent
    else:
        assert sent == Sent(status=202, message="")


@pytest.mark.timeout(300)
async def test_nova_accepts_every_field_at_every_microversion(
    nova: NovaService,
    test_cloud: TestCloud,
    clouds: dict[str, CloudConfig],
    servers: Servers,
) -> None:
    """``everything_at(N)`` for every N of 2.1-2.104: every field 2.N accepts, in its
    richest form (above 2.96 the 2.96 body: novaclient stops there); Nova 34 must take
    each at its version. One test (one create after another: nova-api's fake cloud is
    CPU-bound, more at once only slows each), every refusal listed."""
    refused: dict[str, Sent] = {}
    for minor in range(1, MAX_SUPPORTED.minor + 1):
        microversion = f"2.{minor}"
        spec = parity.make_spec(**parity.everything_at(minor), name=f"every-{minor}")
        body = real_body(spec, microversion, nova, test_cloud)
        sent = await send(clouds, servers, nova, body, microversion)
        if sent.status != 202:
            refused[microversion] = sent
    assert refused == {}


REFUSED_CASES = (*parity.REFUSED, *parity.STRICTER, *parity.REFUSED_BY_LIMITS, *parity.DIVERGENT)
REFUSED = [
    pytest.param(case.values[0], case.values[1], id=case.id)
    for case in REFUSED_CASES
    if _case_id(case) not in NO_WIRE_FORM
]


def as_asked(case: str, spec: Any, body: dict[str, Any], real: Any) -> dict[str, Any]:
    """For the cases whose values bulkboot's builder does not carry (it builds a valid
    body instead): the body a client that passed the user's values through would send."""
    server = body["server"]
    if case == "min-count-0":
        server["min_count"] = 0
    elif case == "max-count-0":
        server["max_count"] = 0
    elif case == "min-above-max":
        server["min_count"], server["max_count"] = spec.min_count, spec.max_count
    elif case == "legacy-and-new-bdm":  # the swap's mapping beside the legacy one
        swap_only = real(dataclasses.replace(spec, block_device_mapping={}))
        server["block_device_mapping_v2"] = swap_only["server"]["block_device_mapping_v2"]
    return body


@pytest.mark.parametrize(("microversion", "fields"), REFUSED)
async def test_what_bulkboot_refuses_nova_refuses(
    request: pytest.FixtureRequest,
    microversion: str,
    fields: dict[str, Any],
    nova: NovaService,
    test_cloud: TestCloud,
    clouds: dict[str, CloudConfig],
    servers: Servers,
) -> None:
    name = _case_id(request.node.callspec)
    spec = parity.make_spec(**fields)
    assert parity.validate(parity.manifest_of(spec, microversion), parse(microversion))

    def real(one: Any) -> dict[str, Any]:
        return real_body(one, microversion, nova, test_cloud)

    body = as_asked(name, spec, real(spec), real)
    sent = await send(clouds, servers, nova, body, microversion)
    if name in NOVA_ACCEPTS_REFUSED:
        assert sent.status == 202, f"Nova refuses {name} now: drop it from NOVA_ACCEPTS_REFUSED"
        return
    status, words = NOVA_SAYS[name]
    assert sent.status == status and words in sent.message, sent


def test_every_refused_case_has_an_answer() -> None:
    """Each case bulkboot refuses is either refused by Nova in known words, accepted by
    Nova for a named reason, or has no body to send: none is left unaccounted for."""
    names = {_case_id(case) for case in REFUSED_CASES}
    accounted = set(NOVA_SAYS) | set(NOVA_ACCEPTS_REFUSED) | set(NO_WIRE_FORM)
    assert names == accounted
