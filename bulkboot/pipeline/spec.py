"""The pipeline's currency: frozen records that flow manifest -> validate -> body.

A ``ServerSpec`` is one POST /servers request: one server, or one multi-create group
(``min_count``/``max_count``). Its fields are the manifest's words (``nova boot``'s
arguments), not Nova's wire keys: the wire keys live in ``body.py`` and ``wire.py``.

References (image, flavor, network names) stay as written here; ``body.BodyBuilder``
takes a ``References`` that maps them to IDs (``AS_WRITTEN`` offline, the cloud
client's resolver online).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from bulkboot.pipeline.load_spec import LoadSection

__all__ = [
    "AS_WRITTEN",
    "FIXED_LIMITS",
    "MAX_TAGS",
    "MAX_USER_DATA",
    "AsWritten",
    "Group",
    "Limits",
    "Location",
    "Manifest",
    "Nic",
    "Problem",
    "References",
    "ServerSpec",
    "sort_problems",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a YAML node stands: 1-based line and column, as editors count."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a manifest, shown as ``FILE:LINE:COL: subject: message``."""

    location: Location | None
    subject: str  # the server's name, or the group's name template, or "manifest"
    message: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        subject = f"{self.subject}: " if self.subject else ""
        line = f"{where}{subject}{self.message}"
        # Names, keys and paths come from the user's file: a tab, NUL or terminal escape
        # sequence is shown escaped as in repr, never sent raw to the terminal.
        return line if line.isprintable() else _escape(line)


def _escape(text: str) -> str:
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File order (line, column); problems without a place first."""
    return sorted(
        problems,
        key=lambda p: (
            (0, "", 0, 0)
            if p.location is None
            else (1, p.location.file, p.location.line, p.location.column)
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Nic:
    """One ``--nic`` mapping, keys as ``nova boot`` spells them (net-id -> net_id ...)."""

    net_id: str | None = None
    net_name: str | None = None
    port_id: str | None = None
    v4_fixed_ip: str | None = None
    v6_fixed_ip: str | None = None
    tag: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSpec:
    """One create request, after defaults, templating and file reading.

    ``None`` (or an empty tuple/mapping) means "not given", so that body building can
    mirror novaclient, which leaves out what was not asked for. File contents are
    bytes read once per file and shared between the servers that name the file.
    """

    name: str
    fleet: str
    location: Location  # the group's entry in the manifest
    group: str  # the group's name template, for messages and reports
    index: int | None = None  # the {index} this server was expanded with

    image: str | None = None
    image_with: Mapping[str, str] | None = None
    flavor: str | None = None
    min_count: int | None = None
    max_count: int | None = None
    return_reservation_id: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    files: tuple[tuple[str, bytes], ...] = ()  # (guest path, contents)
    key_name: str | None = None
    user_data: bytes | None = None  # from user_data (file) or user_data_text
    availability_zone: str | None = None
    security_groups: tuple[str, ...] = ()
    block_device_mapping: Mapping[str, str] = field(default_factory=dict)  # v1 dev -> spec
    block_devices: tuple[Mapping[str, str], ...] = ()  # v2, --block-device keys
    boot_volume: str | None = None
    snapshot: str | None = None
    ephemeral: tuple[Mapping[str, str], ...] = ()  # {size, format}
    swap: int | None = None
    networks: Literal["auto", "none"] | tuple[Nic, ...] | None = None
    scheduler_hints: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    config_drive: bool | None = None
    admin_pass: str | None = field(default=None, repr=False)
    disk_config: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    trusted_image_certificates: tuple[str, ...] = ()
    host: str | None = None
    hypervisor_hostname: str | None = None
    hostname: str | None = None

    @property
    def instance_count(self) -> int:
        """How many servers this request asks for at most."""
        return self.max_count or self.min_count or 1


MAX_USER_DATA = 65535
"""Bytes of base64 user data: Nova's request schema (``user_data`` maxLength), not a quota."""
MAX_TAGS = 50
"""Tags per server: Nova's request schema (``tags`` maxItems, MAX_TAG_COUNT), not a quota."""

FIXED_LIMITS: Mapping[str, str] = {
    "max_user_data": f"user data is at most {MAX_USER_DATA} bytes of base64",
    "max_tags": f"a server has at most {MAX_TAGS} tags",
}
"""Per-request caps in Nova's API schema itself: the same on every cloud, never raisable."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Nova's per-server quotas, at their defaults; a manifest may raise them for clouds
    configured higher (quotas injected_files, injected_file_content_bytes,
    injected_file_path_bytes, metadata_items).

    ``max_user_data`` and ``max_tags`` are read here too but are not fields: they are
    fixed by Nova's request schema (``FIXED_LIMITS``), so no cloud accepts more and a
    manifest cannot raise them.
    """

    max_personality: int = 5
    max_personality_size: int = 10240
    max_personality_path: int = 255  # bytes of a personality file's guest path
    max_server_meta: int = 128  # metadata items per server, bulkboot's two marks included

    @property
    def max_user_data(self) -> int:
        return MAX_USER_DATA

    @property
    def max_tags(self) -> int:
        return MAX_TAGS


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """One entry of the manifest's ``servers`` list, as expanded.

    Its servers are ``Manifest.servers[first:stop]``. Validation reads it to check
    what all of a group's servers share once per group, and only the ``varying``
    fields (those written with ``{index}`` or ``{name}``) once per server.
    """

    template: str  # the name as written, e.g. "web-{index:02d}"
    location: Location  # the group's entry in the manifest
    first: int
    stop: int
    varying: frozenset[str]  # server fields whose values differ between the servers
    # Where each value is written: "flavor", "metadata.role", "networks.0.v4-fixed-ip",
    # "block_devices.1.source" ... (values from `defaults` point into `defaults`).
    locations: Mapping[str, Location] = field(default_factory=dict)
    # Fields left out because they had a (structural) problem: rules that read them are
    # skipped, so a half-read group reports its real problems and no misleading ones.
    broken: frozenset[str] = frozenset()

    @property
    def count(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """A whole fleet, expanded: one ``ServerSpec`` per create request, in manifest order."""

    path: str
    name: str  # the fleet name, the value of the bulkboot:fleet metadata mark
    cloud: str | None
    microversion: str  # "auto" or "2.N", as written
    limits: Limits
    servers: tuple[ServerSpec, ...]
    groups: tuple[Group, ...] = ()  # empty when built by hand: every server stands alone
    # Where ``defaults`` is written (its first and last position): a problem found
    # there is the defaults' problem, reported as such, not as the first group's.
    defaults_at: tuple[Location, Location] | None = None
    load: LoadSection | None = None  # the ``load:`` mapping (``bulkboot load``), if written


class References(Protocol):
    """Maps references as written to the IDs Nova wants; raises nothing in ``body``.

    Resolution errors are found before bodies are built (every server's at once),
    so by the time a body is built every reference it asks for is known.
    """

    def image(self, ref: str) -> str: ...

    def image_with(self, properties: Mapping[str, str]) -> str: ...

    def flavor(self, ref: str) -> str: ...

    def network(self, name: str) -> str: ...


class AsWritten:
    """Offline references: every reference passes through as written."""

    __slots__ = ()

    def image(self, ref: str) -> str:
        return ref

    def image_with(self, properties: Mapping[str, str]) -> str:
        return "image_with:" + ",".join(f"{k}={v}" for k, v in sorted(properties.items()))

    def flavor(self, ref: str) -> str:
        return ref

    def network(self, name: str) -> str:
        return name


AS_WRITTEN = AsWritten()
