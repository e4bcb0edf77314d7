"""ServerSpec + resolved references + microversion -> the POST /servers JSON body.

The body is exactly what python-novaclient 18.x (``nova boot``: ``shell._boot`` then
``ServerManager.create``) sends for the same arguments at the same microversion, with
three deliberate differences:

* every body carries the metadata items ``"bulkboot:fleet": <fleet name>``
  (``FLEET_MARK_KEY``), by which ``apply``, ``status`` and ``destroy`` recognise the
  fleet's servers with no local file, and ``"bulkboot:spec": <fingerprint>``
  (``SPEC_MARK_KEY``, ``fingerprint``), by which ``plan`` and ``apply`` tell a server
  that no longer matches the manifest;
* user data and personality files are sent byte for byte (novaclient reads them in
  text mode, turning CRLF into LF and failing on binary data);
* numbers that novaclient sends as digit strings (block device ``volume_size`` and
  ``boot_index`` from ``--block-device``, ``--ephemeral``, ``--swap``, legacy
  ``--block-device-mapping`` sizes) are JSON numbers, which Nova's schema accepts alike.

Nova's wire keys live here and in ``wire`` (the tables from the manifest's words to
them, and the block device translations) and nowhere else.

``BodyBuilder`` assumes the manifest passed ``validate`` at the same microversion: it
does not re-check rules, it only builds. Rules that *change* the body with the
microversion (``networks`` defaults to ``"auto"`` from 2.37, as novaclient does) are
applied here.

Speed: this runs once per server. Everything in a body that does not depend on the
individual server (image, flavor, block devices, personality, user data, hints ...) is
built once per distinct combination and shared, and so are consecutive servers' equal
networks; a body then costs a dict copy and a few assignments (figures in
benchmarks/RESULTS.md). Bodies therefore share their nested lists and dicts with each
other: treat a body as read-only (serialise it, do not edit it).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from operator import attrgetter
from typing import Any, Final

from bulkboot.gcpause import gc_paused
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline.fingerprint import join, server_digest, shared_digests
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Nic, References, ServerSpec
from bulkboot.pipeline.wire import BDM_V2_KEYS, NIC_KEYS, SERVER_KEYS, bdm_v2, legacy_bdm

__all__ = ["BDM_V2_KEYS", "NIC_KEYS", "SERVER_KEYS", "BodyBuilder", "build_requests"]

_HINTS_KEY: Final = SERVER_KEYS["scheduler_hints"]
_AUTO_NETWORKS_FROM: Final = 37  # 2.37: networks is required; novaclient sends "auto"

# ------------------------------------------------------------------ the template key
#
# A body is "shared part" + "per-server part". The per-server part is what a group's
# templating most often varies ({name}, {index}): the name, metadata, description,
# hostname and networks (fixed IPs). Every other field's value picks the shared part;
# any field added to ServerSpec later joins them automatically (more fields is never
# wrong, only slower). Mapping fields are not hashable and enter the dict key as item
# tuples.

_PER_SERVER = frozenset(
    {
        "name",
        "fleet",
        "location",
        "group",
        "index",
        "metadata",
        "description",
        "hostname",
        "networks",
    }
)
_SHARED_FIELDS = tuple(f.name for f in dataclasses.fields(ServerSpec) if f.name not in _PER_SERVER)
_shared_values = attrgetter(*_SHARED_FIELDS)
_MAPPING_FIELDS = frozenset({"image_with", "block_device_mapping", "scheduler_hints"})
_MAPPING_TUPLE_FIELDS = frozenset({"block_devices", "ephemeral"})
_MAPPING_AT = tuple(i for i, name in enumerate(_SHARED_FIELDS) if name in _MAPPING_FIELDS)
_MAPPING_TUPLE_AT = tuple(
    i for i, name in enumerate(_SHARED_FIELDS) if name in _MAPPING_TUPLE_FIELDS
)
# (shared part of body["server"], top-level hints, the shared fields' digests)
_Template = tuple[dict[str, Any], dict[str, Any] | None, dict[str, str]]


def _hashable(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The shared values with mappings turned into item tuples, to key a dict."""
    key = list(values)
    for at in _MAPPING_AT:
        mapping = key[at]
        key[at] = tuple(mapping.items()) if mapping else ()
    for at in _MAPPING_TUPLE_AT:
        mappings = key[at]
        key[at] = tuple([tuple(m.items()) for m in mappings]) if mappings else ()
    return tuple(key)


# ------------------------------------------------------------------------ building


class BodyBuilder:
    """Builds bodies for one (references, microversion) pair, sharing what servers share.

    Create one per run (``build_requests`` makes one per call). ``refs`` must not change
    its answers while the builder lives: resolved IDs are cached in templates. Not
    thread-safe: one builder per thread.
    """

    __slots__ = (
        "_b64",
        "_bypass",
        "_last_mark",
        "_last_metadata",
        "_last_networks",
        "_last_template",
        "_last_values",
        "_microversion",
        "_misses",
        "_refs",
        "_templates",
    )

    _MAX_TEMPLATES: Final = 4096  # distinct shared parts kept; cleared when exceeded
    _MAX_B64: Final = 1024  # distinct user-data / file objects whose base64 is kept
    _MISSES_BEFORE_BYPASS: Final = 256  # consecutive template misses ...
    _BYPASS_FOR: Final = 4096  # ... before this many builds skip the template dict

    def __init__(self, refs: References, microversion: Microversion) -> None:
        self._refs = refs
        self._microversion = microversion
        # hashable shared values -> (shared part of body["server"], top-level hints)
        self._templates: dict[tuple[Any, ...], _Template] = {}
        # The previous server's shared values and template: a group's servers come one
        # after another and share their values' objects, so one tuple comparison (an
        # identity check per field) finds the template without hashing anything.
        self._last_values: tuple[Any, ...] | None = None
        self._last_template: _Template = ({}, None, {})
        # The previous server's networks, as written, on the wire and their digest (shared
        # the same way), and its metadata as written and its digest.
        self._last_networks: tuple[object, Any, str | None] = (object(), None, None)
        self._last_metadata: tuple[object, str | None] = (object(), None)
        # The previous spec mark and what it was made of (a group's servers share it).
        self._last_mark: tuple[tuple[object, ...], str] = ((), "")
        self._misses = 0  # template-dict misses since the last hit
        self._bypass = 0  # builds left that skip the template dict
        # id(bytes) -> (the bytes, kept alive so the id stays theirs; base64 text)
        self._b64: dict[int, tuple[bytes, str]] = {}

    @property
    def microversion(self) -> Microversion:
        return self._microversion

    def build(self, spec: ServerSpec) -> dict[str, Any]:
        """The body for ``spec``: a fresh top level over shared, read-only nested values."""
        values = _shared_values(spec)
        if values == self._last_values:
            shared, hints, parts = self._last_template
        else:
            shared, hints, parts = self._template(values, spec)
        server = {"name": spec.name, **shared}
        networks = spec.networks
        last_networks, wire, networks_digest = self._last_networks
        if networks is not last_networks and networks != last_networks:
            wire = self._networks(networks)
            networks_digest = server_digest("n", wire)
            self._last_networks = (networks, wire, networks_digest)
        if wire is not None:
            server["networks"] = wire
        metadata = spec.metadata
        last_metadata, metadata_digest = self._last_metadata
        if metadata is not last_metadata:
            metadata_digest = server_digest("m", metadata)
            self._last_metadata = (metadata, metadata_digest)
        if spec.description:
            server["description"] = spec.description
        if spec.hostname:
            server["hostname"] = spec.hostname
        made_of = (
            parts,
            networks_digest,
            metadata_digest,
            spec.description or None,
            spec.hostname or None,
        )
        last_made_of, mark = self._last_mark
        if made_of != last_made_of:
            mark = self._mark(made_of)
        server["metadata"] = {**metadata, FLEET_MARK_KEY: spec.fleet, SPEC_MARK_KEY: mark}
        if hints is None:
            return {"server": server}
        return {"server": server, _HINTS_KEY: hints}

    def _mark(self, made_of: tuple[Any, ...]) -> str:
        """The spec mark of a server: the shared digests and its own fields' digests."""
        parts, networks, metadata, description, hostname = made_of
        own = dict(parts)
        if networks is not None:
            own["n"] = networks
        if metadata is not None:
            own["m"] = metadata
        if description is not None:
            own["d"] = server_digest("d", description) or ""
        if hostname is not None:
            own["o"] = server_digest("o", hostname) or ""
        mark = join(own)
        self._last_mark = (made_of, mark)
        return mark

    def _template(self, values: tuple[Any, ...], spec: ServerSpec) -> _Template:
        if self._bypass:
            # Recent look-ups all missed (templated per-server values such as fixed
            # IPs): hashing keys would only add to the cost of building each body.
            self._bypass -= 1
            template = self._shared(spec)
        else:
            template = self._lookup(values, spec)
        self._last_values = values
        self._last_template = template
        return template

    def _lookup(self, values: tuple[Any, ...], spec: ServerSpec) -> _Template:
        key: tuple[Any, ...] | None
        found: _Template | None
        try:
            key = _hashable(values)
            found = self._templates.get(key)
        except TypeError:  # an unhashable value in a field added to ServerSpec later
            key, found = None, None
        if found is not None:
            self._misses = 0
            return found
        template = self._shared(spec)
        self._misses += 1
        if self._misses >= self._MISSES_BEFORE_BYPASS:
            self._misses = 0
            self._bypass = self._BYPASS_FOR
        if key is not None:
            if len(self._templates) >= self._MAX_TEMPLATES:
                self._templates.clear()
            self._templates[key] = template
        return template

    # -- the shared part, built once per distinct combination ----------------------

    def _shared(self, spec: ServerSpec) -> _Template:
        refs = self._refs
        if spec.image:
            image_id: str | None = refs.image(spec.image)
        elif spec.image_with:
            image_id = refs.image_with(spec.image_with)
        else:
            image_id = None
        server: dict[str, Any] = {
            "imageRef": str(image_id) if image_id else "",
            "flavorRef": str(refs.flavor(spec.flavor)) if spec.flavor is not None else "",
        }
        if spec.user_data:
            server["user_data"] = self._base64(spec.user_data)
        if spec.return_reservation_id:
            server["return_reservation_id"] = True
        if spec.key_name:
            server["key_name"] = spec.key_name
        if spec.config_drive:
            server["config_drive"] = True
        if spec.admin_pass:
            server["adminPass"] = spec.admin_pass
        min_count = spec.min_count or 1
        max_count = spec.max_count or min_count
        server["min_count"] = min(min_count, max_count)
        server["max_count"] = max_count
        if spec.security_groups:
            server["security_groups"] = [{"name": group} for group in spec.security_groups]
        if spec.files:
            server["personality"] = [
                {"path": path, "contents": self._base64(contents)}
                for path, contents in sorted(spec.files, key=_first)
            ]
        if spec.availability_zone:
            server["availability_zone"] = spec.availability_zone
        if spec.block_device_mapping:
            server["block_device_mapping"] = legacy_bdm(spec.block_device_mapping)
        else:
            devices = bdm_v2(spec)
            if devices:
                if image_id:
                    # novaclient inserts the image as the boot disk (bug 1433609)
                    devices.insert(
                        0,
                        {
                            "uuid": image_id,
                            "source_type": "image",
                            "destination_type": "local",
                            "boot_index": 0,
                            "delete_on_termination": True,
                        },
                    )
                server["block_device_mapping_v2"] = devices
        if spec.disk_config is not None:
            server["OS-DCF:diskConfig"] = spec.disk_config
        if spec.access_ip_v4 is not None:
            server["accessIPv4"] = spec.access_ip_v4
        if spec.access_ip_v6 is not None:
            server["accessIPv6"] = spec.access_ip_v6
        if spec.tags:
            server["tags"] = list(spec.tags)
        if spec.trusted_image_certificates:
            server["trusted_image_certificates"] = list(spec.trusted_image_certificates)
        if spec.host:
            server["host"] = spec.host
        if spec.hypervisor_hostname:
            server["hypervisor_hostname"] = spec.hypervisor_hostname
        hints: dict[str, Any] | None = None
        if spec.scheduler_hints:
            hints = {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in spec.scheduler_hints.items()
            }
        return server, hints, shared_digests(server, hints)

    def _base64(self, data: bytes) -> str:
        cached = self._b64.get(id(data))
        if cached is not None and cached[0] is data:
            return cached[1]
        text = base64.b64encode(data).decode("ascii")
        if len(self._b64) >= self._MAX_B64:
            self._b64.clear()
        self._b64[id(data)] = (data, text)
        return text

    def _networks(
        self, networks: str | tuple[Nic, ...] | None
    ) -> str | list[dict[str, str]] | None:
        if isinstance(networks, str):
            return networks
        if not networks:
            # novaclient: nothing given means "auto" from 2.37, no key before
            return "auto" if self._microversion.at_least(_AUTO_NETWORKS_FROM) else None
        result = []
        for nic in networks:
            entry: dict[str, str] = {}
            if nic.net_id:
                entry["uuid"] = nic.net_id
            elif nic.net_name:
                entry["uuid"] = self._refs.network(nic.net_name)
            fixed_ip = nic.v4_fixed_ip or nic.v6_fixed_ip
            if fixed_ip:
                entry["fixed_ip"] = fixed_ip
            if nic.port_id:
                entry["port"] = nic.port_id
            if nic.tag:
                entry["tag"] = nic.tag
            result.append(entry)
        return result


def _first(item: tuple[str, bytes]) -> str:
    return item[0]


def build_requests(
    specs: Iterable[ServerSpec], refs: References, microversion: Microversion
) -> list[dict[str, Any]]:
    """``{"name", "method", "path", "body"}`` per spec: the create requests, as ``plan``
    shows them (one builder; the cyclic collector paused: 100,000 bodies are 300,000
    new dicts, none of which it could free)."""
    build = BodyBuilder(refs, microversion).build
    with gc_paused():
        return [
            {"name": spec.name, "method": "POST", "path": "/servers", "body": build(spec)}
            for spec in specs
        ]
