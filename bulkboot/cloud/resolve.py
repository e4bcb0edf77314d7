"""Image, flavor and network references -> IDs, each looked up once, all before any create.

A fleet of 1,000 servers sharing one image name costs one ``GET /v2/images?name=``, not
1,000. All references are looked up at once (one task per distinct reference), and
every problem is collected: a missing name lists the names that come close, an
ambiguous one lists the IDs it could mean, and each is reported at the place in the
manifest that wrote it, for the servers that use it (``ResolveError``). A look-up
the cloud refuses (403, a 500 that outlived its retries, no connection) ends the
resolution with that error itself, unwrapped from the task group.

How each kind is found, as ``nova boot`` finds them:

- image: an ID (``GET /v2/images/{id}``), else a name (``GET /v2/images?name=``).
  With no image service in reach (``auth_type: none``, or none in the catalog) an
  ID-shaped reference is sent as it is, and a name is an error that says why;
- ``image_with``: images whose properties match (``GET /v2/images?k=v``); the first
  one Glance lists (the newest), as novaclient's ``_match_image`` takes;
- flavor: by ID, else by name, from one ``GET /flavors/detail``. From compute 2.102
  (negotiated before resolving) Nova filters flavors by name itself: a name is one
  ``GET /flavors?name=^name$`` and an ID-shaped reference (digits, a UUID) one
  ``GET /flavors/{id}``, each tried as the other when it finds nothing; the whole
  list is read only for a miss, to say what comes close. Unlike novaclient (ID
  first, always), a reference that is neither digits nor a UUID is taken as a name
  first there: it differs only where one flavor's name is another one's ID;
- network ``net-name``: ``GET /v2.0/networks?name=``; a ``net-id`` is sent as written,
  checked to exist (``GET /v2.0/networks/{id}``) where Neutron is in reach.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import anyio

from bulkboot.errors import BaseExceptionGroup, BulkbootError, NotFound, ResolveError, first_error
from bulkboot.pipeline.microversion import supports_flavor_name_filter
from bulkboot.pipeline.spec import Location, Manifest, Problem

if TYPE_CHECKING:
    from bulkboot.cloud.client import Cloud

__all__ = ["ResolvedReferences", "looks_like_uuid", "resolve_references"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
# Escaped in a name sent to Nova's flavor name filter (a database regular expression).
_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")
_GONE_IMAGE = frozenset({"deleted", "killed", "pending_delete"})
_MAX_PAGES = 1000
_SHOW = 8  # candidates shown in a message


def looks_like_uuid(text: str) -> bool:
    """True for a UUID with or without dashes (what Nova and Glance use as IDs)."""
    return bool(_UUID.match(text))


PropertyKey = tuple[tuple[str, str], ...]


def _exact_name_pattern(name: str) -> str:
    """A regular expression that matches ``name`` and nothing else (the portable subset)."""
    return "^" + "".join("\\" + c if c in _REGEX_SPECIALS else c for c in name) + "$"


def _property_key(properties: Mapping[str, str]) -> PropertyKey:
    return tuple(sorted((str(k), str(v)) for k, v in properties.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedReferences:
    """The run's references, resolved; implements ``bulkboot.pipeline.spec.References``.

    A reference that was never asked for comes back as written (``body`` only asks
    for what ``resolve_references`` saw).
    """

    images: Mapping[str, str] = field(default_factory=dict)
    images_with: Mapping[PropertyKey, str] = field(default_factory=dict)
    flavors: Mapping[str, str] = field(default_factory=dict)
    networks: Mapping[str, str] = field(default_factory=dict)

    def image(self, ref: str) -> str:
        return self.images.get(ref, ref)

    def image_with(self, properties: Mapping[str, str]) -> str:
        key = _property_key(properties)
        return self.images_with.get(key, "")

    def flavor(self, ref: str) -> str:
        return self.flavors.get(ref, ref)

    def network(self, name: str) -> str:
        return self.networks.get(name, name)


class _Miss(Exception):
    """One reference could not be resolved; the message says why (a user's words)."""


# ---------------------------------------------------------------- who uses what


@dataclass(slots=True)
class _Uses:
    """Where a reference is written and by which servers, in manifest order."""

    places: dict[Location | None, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, location: Location | None, name: str) -> None:
        self.places[location].append(name)


def _group_locations(manifest: Manifest) -> list[Mapping[str, Location]]:
    """For each spec, the manifest's per-field locations of its group (or nothing)."""
    per_spec: list[Mapping[str, Location]] = [{} for _ in manifest.servers]
    for group in manifest.groups:
        for index in range(group.first, min(group.stop, len(per_spec))):
            per_spec[index] = group.locations
    return per_spec


@dataclass(slots=True)
class _Wanted:
    """Every distinct reference of the manifest, with who uses it and where."""

    images: dict[str, _Uses] = field(default_factory=lambda: defaultdict(_Uses))
    images_with: dict[PropertyKey, _Uses] = field(default_factory=lambda: defaultdict(_Uses))
    flavors: dict[str, _Uses] = field(default_factory=lambda: defaultdict(_Uses))
    networks: dict[str, _Uses] = field(default_factory=lambda: defaultdict(_Uses))
    network_ids: dict[str, _Uses] = field(default_factory=lambda: defaultdict(_Uses))


def _collect(manifest: Manifest) -> _Wanted:
    wanted = _Wanted()
    locations = _group_locations(manifest)
    for spec, where in zip(manifest.servers, locations, strict=True):
        if spec.image is not None:
            wanted.images[spec.image].add(where.get("image", spec.location), spec.name)
        elif spec.image_with:
            key = _property_key(spec.image_with)
            wanted.images_with[key].add(where.get("image_with", spec.location), spec.name)
        if spec.flavor is not None:
            wanted.flavors[spec.flavor].add(where.get("flavor", spec.location), spec.name)
        if isinstance(spec.networks, tuple):
            for i, nic in enumerate(spec.networks):
                if nic.net_name is not None:
                    place = nic.location or where.get(f"networks.{i}.net-name") or spec.location
                    wanted.networks[nic.net_name].add(place, spec.name)
                if nic.net_id is not None:
                    place = nic.location or where.get(f"networks.{i}.net-id") or spec.location
                    wanted.network_ids[nic.net_id].add(place, spec.name)
    return wanted


def _subject(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{names[0]} ... {names[-1]} ({len(names)} servers)"


def _problems(uses: _Uses, message: str) -> list[Problem]:
    return [Problem(location, _subject(names), message) for location, names in uses.places.items()]


def _candidates(wanted: str, names: list[str]) -> str:
    close = difflib.get_close_matches(wanted, names, n=_SHOW, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(repr(n) for n in close) + "?"
    shown = sorted(set(names))
    if not shown:
        return "there are none"
    more = f", ... ({len(shown)} in all)" if len(shown) > _SHOW else ""
    return "there are " + ", ".join(repr(n) for n in shown[:_SHOW]) + more


def _ambiguous(kind: str, name: str, matches: Sequence[Mapping[str, Any]]) -> _Miss:
    ids = ", ".join(str(m.get("id")) for m in matches[:_SHOW])
    return _Miss(
        f"{kind} name {name!r} is ambiguous: {len(matches)} {kind}s have it ({ids}); "
        f"use the ID of the one you mean"
    )


# ---------------------------------------------------------------- look-ups


class _Resolver:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.image_service = cloud.api_root("image") is not None
        self.network_service = cloud.api_root("network") is not None
        self._all_images: list[dict[str, Any]] | None = None
        self._all_networks: list[dict[str, Any]] | None = None
        self._flavors: list[dict[str, Any]] | None = None
        self._lock = anyio.Lock()

    async def _glance_list(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        query = dict(params)
        found: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            body = (await self.cloud.get("image", "/images", query)).body or {}
            page = body.get("images") or []
            found.extend(page)
            following = body.get("next")
            marker = dict(parse_qsl(urlsplit(str(following)).query)).get("marker")
            if not following or not page or not marker or marker == query.get("marker"):
                break
            query["marker"] = marker
        return [image for image in found if image.get("status") not in _GONE_IMAGE]

    async def image(self, ref: str) -> str:
        if not self.image_service:
            if looks_like_uuid(ref):
                return ref
            raise _Miss(
                f"image {ref!r} is a name, and cloud {self.cloud.cloud_name!r} has no image "
                f"service in reach (auth_type none, or no image endpoint in the catalog) to "
                f"look it up: give the image's ID"
            )
        if looks_like_uuid(ref):
            try:
                found = (await self.cloud.get("image", f"/images/{ref}")).body or {}
                if found.get("id"):
                    return str(found["id"])
            except NotFound:
                pass
        matches = await self._glance_list({"name": ref})
        matches = [m for m in matches if m.get("name") == ref]
        if len(matches) == 1:
            return str(matches[0]["id"])
        if matches:
            raise _ambiguous("image", ref, matches)
        async with self._lock:
            if self._all_images is None:
                self._all_images = await self._glance_list({})
        names = [str(i.get("name")) for i in self._all_images if i.get("name")]
        return self._missing("image", ref, names)

    def _missing(self, kind: str, ref: str, names: list[str]) -> str:
        by = "ID or name" if looks_like_uuid(ref) or kind != "network" else "name"
        raise _Miss(f"no {kind} has the {by} {ref!r}; {_candidates(ref, names)}")

    async def image_with(self, key: PropertyKey) -> str:
        wanted = dict(key)
        shown = ", ".join(f"{k}={v}" for k, v in key)
        if not self.image_service:
            raise _Miss(
                f"image_with ({shown}) needs the image service, and cloud "
                f"{self.cloud.cloud_name!r} has none in reach: give the image's ID"
            )
        listed = await self._glance_list(wanted)
        matches = [
            image for image in listed if all(str(image.get(k)) == v for k, v in wanted.items())
        ]
        if not matches:
            raise _Miss(f"no image has the properties {shown}")
        return str(matches[0]["id"])

    async def flavor(self, ref: str) -> str:
        version = self.cloud.compute.microversion
        if version is not None and supports_flavor_name_filter(version):
            first, then = (
                (self._flavor_by_id, self._flavor_by_name)
                if ref.isdigit() or looks_like_uuid(ref)
                else (self._flavor_by_name, self._flavor_by_id)
            )
            found = await first(ref) or await then(ref)
            if found is not None:
                return found
        async with self._lock:
            if self._flavors is None:
                self._flavors = await self.cloud.compute.flavors()
        for flavor in self._flavors:
            if str(flavor.get("id")) == ref:
                return ref
        matches = [f for f in self._flavors if f.get("name") == ref]
        if len(matches) == 1:
            return str(matches[0]["id"])
        if matches:
            raise _ambiguous("flavor", ref, matches)
        return self._missing("flavor", ref, [str(f.get("name")) for f in self._flavors])

    async def _compute_get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        compute = self.cloud.compute
        headers = compute.microversion.headers() if compute.microversion else None
        answer = await compute.transport.request(
            "GET", compute.endpoint + path, params=params, headers=headers
        )
        return answer.body

    async def _flavor_by_name(self, name: str) -> str | None:
        """2.102+: the flavors Nova finds by name (one request), exact matches only."""
        body = await self._compute_get("/flavors", {"name": _exact_name_pattern(name)})
        listed = body.get("flavors") if isinstance(body, Mapping) else None
        matches = [f for f in listed or () if isinstance(f, Mapping) and f.get("name") == name]
        if len(matches) > 1:
            raise _ambiguous("flavor", name, matches)
        return str(matches[0]["id"]) if matches else None

    async def _flavor_by_id(self, ref: str) -> str | None:
        """2.102+: the flavor whose ID is ``ref`` (one request), None when there is none."""
        try:
            body = await self._compute_get(f"/flavors/{quote(ref, safe='')}")
        except NotFound:
            return None
        flavor = body.get("flavor") if isinstance(body, Mapping) else None  # not /flavors/detail
        return str(flavor["id"]) if isinstance(flavor, Mapping) and "id" in flavor else None

    async def network(self, name: str) -> str:
        if not self.network_service:
            raise _Miss(
                f"net-name {name!r} needs the network service, and cloud "
                f"{self.cloud.cloud_name!r} has none in reach: use net-id"
            )
        body = (await self.cloud.get("network", "/networks", {"name": name})).body or {}
        matches = [n for n in body.get("networks") or [] if n.get("name") == name]
        if len(matches) == 1:
            return str(matches[0]["id"])
        if matches:
            raise _ambiguous("network", name, matches)
        async with self._lock:
            if self._all_networks is None:
                listed = (await self.cloud.get("network", "/networks")).body or {}
                self._all_networks = list(listed.get("networks") or [])
        return self._missing("network", name, [str(n.get("name")) for n in self._all_networks])


async def _network_exists(resolver: _Resolver, network_id: str) -> str:
    """A ``net-id`` is sent as written; where Neutron is in reach, it must exist."""
    if not resolver.network_service:
        return network_id
    try:
        await resolver.cloud.get("network", f"/networks/{network_id}")
    except NotFound:
        raise _Miss(f"no network has the ID {network_id!r}") from None
    return network_id


async def resolve_references(cloud: Cloud, manifest: Manifest) -> ResolvedReferences:
    """Resolve every reference of the manifest, each once; ``ResolveError`` lists all misses."""
    wanted = _collect(manifest)
    resolver = _Resolver(cloud)
    found_images: dict[str, str] = {}
    found_with: dict[PropertyKey, str] = {}
    found_flavors: dict[str, str] = {}
    found_networks: dict[str, str] = {}
    checked_ids: dict[str, str] = {}
    problems: list[tuple[int, Problem]] = []
    every = [
        *wanted.images.values(),
        *wanted.images_with.values(),
        *wanted.flavors.values(),
        *wanted.networks.values(),
        *wanted.network_ids.values(),
    ]
    order = {id(uses): n for n, uses in enumerate(every)}

    async def one(
        look: Callable[[Any], Awaitable[str]],
        ref: Any,
        uses: _Uses,
        into: dict[Any, str],
    ) -> None:
        try:
            into[ref] = await look(ref)
        except _Miss as miss:
            problems.extend((order[id(uses)], p) for p in _problems(uses, str(miss)))

    async def check_id(network_id: str) -> str:
        return await _network_exists(resolver, network_id)

    try:
        async with anyio.create_task_group() as group:
            for ref, uses in wanted.images.items():
                group.start_soon(one, resolver.image, ref, uses, found_images)
            for key, uses in wanted.images_with.items():
                group.start_soon(one, resolver.image_with, key, uses, found_with)
            for ref, uses in wanted.flavors.items():
                group.start_soon(one, resolver.flavor, ref, uses, found_flavors)
            for name, uses in wanted.networks.items():
                group.start_soon(one, resolver.network, name, uses, found_networks)
            for network_id, uses in wanted.network_ids.items():
                group.start_soon(one, check_id, network_id, uses, checked_ids)
    except BaseExceptionGroup as group:
        # A look-up the cloud refused (403, 500 after retries, no connection): the
        # caller gets that one clear error, not the task group's wrapper.
        found = first_error(group)
        if not isinstance(found, BulkbootError):
            raise
        raise found from None
    if problems:
        problems.sort(key=lambda item: (_sort_key(item[1].location), item[0]))
        raise ResolveError([p for _, p in problems])
    return ResolvedReferences(
        images=found_images,
        images_with=found_with,
        flavors=found_flavors,
        networks=found_networks,
    )


def _sort_key(location: Location | None) -> tuple[str, int, int]:
    if location is None:
        return ("", 0, 0)
    return (location.file, location.line, location.column)
