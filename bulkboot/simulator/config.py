"""Every knob of the simulated cloud, and the fixed identities and fixtures it serves.

``SimConfig`` is frozen: a running simulator swaps the whole value (``changed``:
``RunningSimulator.configure(**changes)`` and ``POST /_sim/config`` both go through
it), so a request handler always sees one consistent set of knobs. Defaults are a
healthy, fast cloud: no faults, builds of about a second, room for 200,000 servers (cores and RAM
unlimited), one-hour tokens.

Fractions are probabilities in [0, 1] drawn per request (or per server) from one
RNG seeded with ``seed``, so a run with the same seed and the same request order
sees the same faults.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ADMIN_ROLE_ID",
    "APP_CRED_ID",
    "APP_CRED_NAME",
    "APP_CRED_SECRET",
    "DEFAULT_QUOTA_INSTANCES",
    "DOMAIN",
    "DOMAIN_ID",
    "FLAVORS",
    "IMAGES",
    "MAX_INSTANCES",
    "MAX_MICROVERSION",
    "NETWORKS",
    "PASSWORD",
    "PROJECT_ID",
    "PROJECT_NAME",
    "REGION",
    "USERNAME",
    "USER_ID",
    "Flavor",
    "Image",
    "Network",
    "SimConfig",
    "SimConfigError",
    "changed",
]

# ------------------------------------------------------------------ identities
USERNAME = "admin"
# A fixed test secret: the simulator is a test double, never a real cloud.
PASSWORD = "sim-secret-password"  # noqa: S105
USER_ID = "5f2e0c8a6d1b4c7e9a3f1b2c3d4e5f60"
PROJECT_NAME = "demo"
PROJECT_ID = "8d3c2b1a0f9e4d7c8b6a5f4e3d2c1b0a"
DOMAIN = "Default"
DOMAIN_ID = "default"
REGION = "RegionOne"
ADMIN_ROLE_ID = "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"
APP_CRED_ID = "0c4e8a2f6b1d4f3a9e7c5b3a1d9f7e5c"
APP_CRED_NAME = "bulkboot-sim"
APP_CRED_SECRET = "sim-app-cred-secret"  # noqa: S105


# ------------------------------------------------------------------ fixtures
@dataclass(frozen=True, slots=True, kw_only=True)
class Flavor:
    """A Nova flavor as the m1.* set devstack creates."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """A Glance image; ``properties`` are the extra top-level keys Glance v2 shows."""

    id: str
    name: str
    properties: tuple[tuple[str, str], ...] = ()
    min_disk: int = 0
    min_ram: int = 0
    size: int = 21_430_272


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """A Neutron network with one IPv4 subnet (addresses for ACTIVE servers come from it)."""

    id: str
    name: str
    cidr: str
    external: bool = False
    shared: bool = False


FLAVORS: tuple[Flavor, ...] = (
    Flavor(id="1", name="m1.tiny", vcpus=1, ram=512, disk=1),
    Flavor(id="2", name="m1.small", vcpus=1, ram=2048, disk=20),
    Flavor(id="3", name="m1.medium", vcpus=2, ram=4096, disk=40),
    Flavor(id="4", name="m1.large", vcpus=4, ram=8192, disk=80),
    Flavor(id="5", name="m1.xlarge", vcpus=8, ram=16384, disk=160),
)

IMAGES: tuple[Image, ...] = (
    Image(
        id="6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        name="cirros-0.6.2",
        properties=(("os_distro", "cirros"), ("os_version", "0.6.2"), ("hw_rng_model", "virtio")),
    ),
    Image(
        id="7c1d2f9b-2d3e-4f40-9bac-1d2e3f4a5b62",
        name="ubuntu-24.04",
        properties=(("os_distro", "ubuntu"), ("os_version", "24.04"), ("hw_rng_model", "virtio")),
        min_disk=10,
        size=613_416_960,
    ),
    # Two images with one name: the case that makes name resolution ambiguous.
    Image(
        id="8d2e3a0c-3e4f-4051-acbd-2e3f4a5b6c73",
        name="dup-image",
        properties=(("os_distro", "cirros"),),
    ),
    Image(
        id="9e3f4b1d-4f50-4162-bdce-3f4a5b6c7d84",
        name="dup-image",
        properties=(("os_distro", "fedora"),),
    ),
)

NETWORKS: tuple[Network, ...] = (
    Network(id="a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d", name="private", cidr="10.0.0.0/16"),
    Network(
        id="a1b2c3d4-0002-4a5b-8c6d-7e8f9a0b1c2d",
        name="public",
        cidr="172.24.4.0/24",
        external=True,
        shared=True,
    ),
    Network(id="a1b2c3d4-0003-4a5b-8c6d-7e8f9a0b1c2d", name="dup-net", cidr="10.1.0.0/24"),
    Network(id="a1b2c3d4-0004-4a5b-8c6d-7e8f9a0b1c2d", name="dup-net", cidr="10.2.0.0/24"),
)


# ------------------------------------------------------------------ knobs
# Servers live in memory (about 1 KB each): the instance quota is always finite, so a
# request for 2**70 servers is Nova's 403, not an out-of-memory kill. The default holds
# the 100,000-server benchmarks twice over; the ceiling is what a laptop can hold.
DEFAULT_QUOTA_INSTANCES = 200_000
MAX_INSTANCES = 1_000_000
# Nova's quota values are 32-bit database integers (quota set schema: db.MAX_INT).
_MAX_QUOTA = 0x7FFFFFFF
# The newest compute microversion the simulator serves: Nova 34's (2025.2). Its create
# schema has not changed since 2.94; later versions change views and query rules.
MAX_MICROVERSION = "2.104"
# Seconds knobs: longer is never meant (builds that never end are never_finish_fraction)
# and every instant must stay a printable timestamp.
_MAX_SECONDS = 86_400.0
_MAX_TOKEN_LIFETIME = 366 * 86_400.0
_SECONDS = (
    "latency",
    "jitter",
    "create_queueing",
    "member_stagger",
    "build_time_mean",
    "build_time_stddev",
    "delete_delay",
    "scheduling_time",
)
_MICROVERSION = re.compile(r"2\.(0|[1-9][0-9]{0,2})")
# Nova's [api]max_limit default: the most servers one list page holds.
DEFAULT_MAX_LIMIT = 1000
# What each declared type accepts (a float knob takes an int; a bool is no number).
_KIND_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "text",
    "None": "None (null in JSON)",
}
# These check their type together with their range, in their own words.
_OWN_TYPE_CHECK = frozenset({"quota_instances", "min_microversion", "max_microversion"})


class SimConfigError(ValueError):
    """A knob set to what no cloud can be; ``field`` names the knob (and so the flag)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Every knob of the simulator. Each field is also a ``bulkboot simulator`` flag.

    ``__post_init__`` refuses what no cloud can be (a value of the wrong type, NaN or
    infinite numbers, fractions outside [0, 1], microversions outside 2.1..2.104) with a
    ``SimConfigError`` (a ``ValueError``) that names the field, so the command can name
    the flag and ``POST /_sim/config`` can answer a 400 that says what is wrong.
    Quotas: ``None`` is unlimited for cores and RAM (shown as -1 in ``GET /limits``, as
    Nova does); the instance quota is always a number (see ``MAX_INSTANCES``).
    """

    seed: int = 0
    # -- latency added before every API answer (not /_sim), seconds
    latency: float = 0.0
    jitter: float = 0.0  # uniform extra delay in [0, jitter]
    # extra seconds on a POST /servers per other create being handled when it arrives:
    # an API whose answers slow down with its load, as nova-api's do past its workers
    create_queueing: float = 0.0
    # seconds between the members of one multi-create becoming visible: Nova writes
    # them one by one before it answers, so a listing meanwhile shows some of them
    member_stagger: float = 0.0
    # -- server lifecycle
    build_time_mean: float = 1.0
    build_time_stddev: float = 0.2
    error_fraction: float = 0.0  # builds ending in ERROR "No valid host was found."
    never_finish_fraction: float = 0.0  # builds that stay in BUILD forever
    delete_delay: float = 0.2  # seconds from DELETE until the server is gone
    # seconds a new server spends being scheduled (BUILD, task_state "scheduling"; at
    # most its build): deleted then, it vanishes at once, leaving no DELETED record
    scheduling_time: float = 0.1
    # -- request faults (fractions of requests)
    rate_limit: float | None = None  # requests per second across compute/image/network
    rate_limit_retry_after: bool = True  # send Retry-After with the 429
    conflict_fraction: float = 0.0  # 409 on POST /servers (a port in use)
    error_500_fraction: float = 0.0  # 500 on compute requests
    unavailable_fraction: float = 0.0  # 503 on compute requests
    unavailable_retry_after: int | None = None  # seconds sent as Retry-After with a 503
    lost_response_fraction: float = 0.0  # POST /servers: created, then connection closed
    # -- quota (cores, RAM: None is unlimited)
    quota_instances: int = DEFAULT_QUOTA_INSTANCES
    quota_cores: int | None = None
    quota_ram: int | None = None
    late_quota_fraction: float = 0.0  # 202, then ERROR by the conductor's quota recheck
    # -- lists: Nova's [api]max_limit, the most servers one page holds
    max_limit: int = DEFAULT_MAX_LIMIT
    # -- identity
    token_lifetime: float = 3600.0
    # -- compute API range
    min_microversion: str = "2.1"
    max_microversion: str = MAX_MICROVERSION

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name not in _OWN_TYPE_CHECK:
                _check_type(field.name, str(field.type), value)
            if isinstance(value, float) and not math.isfinite(value):
                raise SimConfigError(
                    field.name, f"{field.name} must be a finite number, not {value}"
                )
            if field.name.endswith("_fraction") and not 0.0 <= value <= 1.0:
                raise SimConfigError(
                    field.name, f"{field.name} must be between 0 and 1, not {value}"
                )
        if self.error_fraction + self.never_finish_fraction > 1.0:
            raise SimConfigError(
                "error_fraction",
                "error_fraction and never_finish_fraction must add up to 1 at most "
                "(a build ends one way)",
            )
        for name in _SECONDS:
            if getattr(self, name) < 0:
                raise SimConfigError(name, f"{name} must not be negative")
            if getattr(self, name) > _MAX_SECONDS:
                raise SimConfigError(
                    name, f"{name} must be {_MAX_SECONDS:.0f} seconds (a day) at most"
                )
        if not 0 < self.token_lifetime <= _MAX_TOKEN_LIFETIME:
            raise SimConfigError(
                "token_lifetime",
                f"token_lifetime must be positive and {_MAX_TOKEN_LIFETIME:.0f} seconds "
                "(366 days) at most",
            )
        retry_after = self.unavailable_retry_after
        if retry_after is not None and not 0 <= retry_after <= _MAX_SECONDS:
            raise SimConfigError(
                "unavailable_retry_after",
                f"unavailable_retry_after must be from 0 to {_MAX_SECONDS:.0f} seconds",
            )
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise SimConfigError("rate_limit", "rate_limit must be positive (or None for no limit)")
        instances: object = self.quota_instances
        if not isinstance(instances, int) or not 0 <= instances <= MAX_INSTANCES:
            raise SimConfigError(
                "quota_instances",
                f"quota_instances must be from 0 to {MAX_INSTANCES} (the simulator keeps "
                f"every server in memory; unlimited is not simulated), not {instances}",
            )
        for name in ("quota_cores", "quota_ram"):
            quota = getattr(self, name)
            if quota is not None and not 0 <= quota <= _MAX_QUOTA:
                raise SimConfigError(
                    name, f"{name} must be from 0 to {_MAX_QUOTA} (None is unlimited), not {quota}"
                )
        if not 1 <= self.max_limit <= MAX_INSTANCES:
            raise SimConfigError(
                "max_limit", f"max_limit must be from 1 to {MAX_INSTANCES}, not {self.max_limit}"
            )
        low = _minor_of("min_microversion", self.min_microversion)
        high = _minor_of("max_microversion", self.max_microversion)
        if low < 1:
            raise SimConfigError(
                "min_microversion",
                f"min_microversion must be 2.1 or more, not {self.min_microversion}",
            )
        if low > high:
            raise SimConfigError(
                "min_microversion",
                f"min_microversion {self.min_microversion} must not exceed "
                f"max_microversion {self.max_microversion}",
            )


def _minor_of(name: str, text: object) -> int:
    """The N of a microversion "2.N" the simulator has schemas for."""
    top = int(MAX_MICROVERSION.split(".")[1])
    if not isinstance(text, str) or _MICROVERSION.fullmatch(text) is None:
        raise SimConfigError(name, f"{name} must be a compute microversion 2.N, not {text!r}")
    minor = int(text.split(".")[1])
    if minor > top:
        raise SimConfigError(
            name,
            f"{name} must be {MAX_MICROVERSION} at most (Nova 34's newest, the newest "
            f"the simulator serves), not {text}",
        )
    return minor


def _check_type(name: str, declared: str, value: object) -> None:
    """Refuse a value its field's declared type does not admit (JSON sends anything)."""
    kinds = [part.strip() for part in declared.split("|")]
    if value is None and "None" in kinds:
        return
    if isinstance(value, bool):
        fits = "bool" in kinds
    elif isinstance(value, int):
        fits = "int" in kinds or "float" in kinds
    elif isinstance(value, float):
        fits = "float" in kinds
    else:
        fits = isinstance(value, str) and "str" in kinds
    if not fits:
        words = " or ".join(_KIND_WORDS.get(kind, kind) for kind in kinds)
        raise SimConfigError(name, f"{name} must be {words}, not {value!r}")


def changed(config: SimConfig, changes: Mapping[str, object]) -> SimConfig:
    """``config`` with the named fields changed, checked as every SimConfig is.

    An unknown name is a ``TypeError`` (as ``dataclasses.replace`` makes it) that lists
    the known ones; a value SimConfig refuses is its ``ValueError``.
    """
    known = [field.name for field in dataclasses.fields(SimConfig)]
    unknown = sorted(str(name) for name in changes if name not in known)
    if unknown:
        raise TypeError(
            f"no such SimConfig field: {', '.join(unknown)} (the fields are {', '.join(known)})"
        )
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]
