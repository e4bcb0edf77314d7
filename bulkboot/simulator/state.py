"""The simulated cloud's memory: servers, tokens, counts, and how a list is answered.

No timer runs per server. A server stores when it was created, how long its build
takes and how it ends (drawn once, from the seeded RNG, at creation); its status at
any instant is a pure function of the clock (``records.ServerRecord.status``). Every instant
at which a server changes (created, build ended, delete requested, gone) is put in one
sorted list of ``(time, seq)`` events, so ``changes-since`` is a bisect plus a walk over
the servers that changed in the window, not a scan of every server.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bulkboot.simulator.clock import WALL_CLOCK, Clock
from bulkboot.simulator.config import FLAVORS, Flavor, SimConfig
from bulkboot.simulator.ratelimit import TokenBucket
from bulkboot.simulator.records import (
    DELETED,
    OUTCOME_ACTIVE,
    OUTCOME_ERROR,
    OUTCOME_NEVER,
    ServerRecord,
    TokenRecord,
)

__all__ = ["CloudState", "ListQuery", "flavor_by_ref"]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _uuid4_text(bits: int) -> str:
    bits = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListQuery:
    """What ``GET /servers[/detail]`` asks for, already parsed and checked."""

    name: re.Pattern[str] | None = None
    status: str | None = None
    reservation_id: str | None = None
    changes_since: float | None = None
    changes_before: float | None = None
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()
    flavor: str | None = None
    image: str | None = None
    ip: re.Pattern[str] | None = None
    marker: str | None = None
    limit: int = 1000
    ascending: bool = False


class CloudState:
    """Everything the simulator remembers; reset by ``POST /_sim/reset``."""

    def __init__(self, config: SimConfig, *, clock: Clock = WALL_CLOCK) -> None:
        # Read at every request: a server's status, a token's expiry and the rate
        # limit's refill are worked out from it, so a manual clock drives them all.
        self.clock: Callable[[], float] = clock.time
        self.sleep: Callable[[float], Awaitable[None]] = clock.sleep
        self.reset(config)

    # -------------------------------------------------------------- life
    def reset(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.id_rng = random.Random(config.seed ^ 0x5EED)
        self.version_cache: dict[tuple[str | None, str | None], int | Exception] = {}
        self.records: list[ServerRecord] = []
        self.by_id: dict[str, ServerRecord] = {}
        self.events: list[tuple[float, int]] = []
        self.tokens: dict[str, TokenRecord] = {}
        self.name_counts: dict[str, int] = {}
        self.duplicate_names = 0
        self.used_instances = 0
        self.used_cores = 0
        self.used_ram = 0
        self.authentications = 0
        self.requests: dict[str, dict[str, int]] = {}
        self.requests_total = 0
        # POST /servers being handled now: creates still in the middleware across a reset
        # finish after it, so the count lives on and the peak starts from it
        self.creates_in_flight: int = getattr(self, "creates_in_flight", 0)
        self.creates_in_flight_peak = self.creates_in_flight
        self.faults: dict[str, int] = {}
        self.bucket: TokenBucket | None = None

    def configure(self, config: SimConfig) -> None:
        """Swap the knobs; a new seed restarts the RNG, so a run can be replayed."""
        if config.seed != self.config.seed:
            self.rng.seed(config.seed)
        self.config = config
        self.version_cache.clear()  # the microversion range may have changed

    def count_request(self, key: str, status: str) -> None:
        by_status = self.requests.get(key)
        if by_status is None:
            by_status = self.requests[key] = {}
        by_status[status] = by_status.get(status, 0) + 1
        self.requests_total += 1

    def count_fault(self, name: str) -> None:
        self.faults[name] = self.faults.get(name, 0) + 1

    # -------------------------------------------------------------- ids
    def new_uuid(self) -> str:
        """A version-4 UUID from the seeded RNG (replayable; 4x cheaper than uuid.UUID)."""
        return _uuid4_text(self.rng.getrandbits(128))

    def new_request_id(self) -> str:
        """``req-<uuid>`` from its own RNG, so request ids do not shift the fault draws."""
        return "req-" + _uuid4_text(self.id_rng.getrandbits(128))

    def new_reservation_id(self) -> str:
        """Nova's shape: ``r-`` and 8 characters of [a-z0-9]."""
        number = self.rng.getrandbits(42) % (36**8)
        chars = []
        for _ in range(8):
            number, digit = divmod(number, 36)
            chars.append(_BASE36[digit])
        return "r-" + "".join(chars)

    # -------------------------------------------------------------- servers
    def draw_build(self, now: float) -> tuple[float, int]:
        """Draw when a new server's build ends and how (ACTIVE, ERROR or never)."""
        cfg = self.config
        seconds = max(0.0, self.rng.gauss(cfg.build_time_mean, cfg.build_time_stddev))
        roll = self.rng.random()
        if roll < cfg.error_fraction:
            outcome = OUTCOME_ERROR
        elif roll < cfg.error_fraction + cfg.never_finish_fraction:
            outcome = OUTCOME_NEVER
        else:
            outcome = OUTCOME_ACTIVE
        return now + seconds, outcome

    def add(self, record: ServerRecord) -> None:
        self.add_many([record])

    def add_many(self, records: list[ServerRecord]) -> None:
        """Store new servers (one request's worth) and their change events.

        One server: two bisect inserts near the end. A multi-create batch: its events
        are sorted and merged in one pass (list.sort merges sorted runs in O(n)),
        not inserted one by one (O(n) memmove each).
        """
        events = [(r.created, r.seq) for r in records]
        events += [(r.ready_at, r.seq) for r in records if r.outcome != OUTCOME_NEVER]
        if len(events) <= 4:
            for event in events:
                self._event(*event)
        else:
            self.events.extend(sorted(events))
            self.events.sort()
        for record in records:
            self._store(record)

    def _store(self, record: ServerRecord) -> None:
        self.records.append(record)
        self.by_id[record.id] = record
        count = self.name_counts.get(record.name, 0)
        if count:
            self.duplicate_names += 1
        self.name_counts[record.name] = count + 1
        self.used_instances += 1
        self.used_cores += record.flavor.vcpus
        self.used_ram += record.flavor.ram

    def delete(self, record: ServerRecord, now: float) -> None:
        """Start an asynchronous delete: the server is gone ``delete_delay`` later; one
        still being scheduled (Nova's build request) is gone at once, without a trace."""
        if record.scheduling(now):
            record.vanished = True
            record.deleted_at = record.gone_at = now
        else:
            record.deleted_at = now
            record.gone_at = now + self.config.delete_delay
            self._event(now, record.seq)
            self._event(record.gone_at, record.seq)
        count = self.name_counts[record.name]
        if count > 1:
            self.duplicate_names -= 1
            self.name_counts[record.name] = count - 1
        else:
            del self.name_counts[record.name]
        self.used_instances -= 1
        self.used_cores -= record.flavor.vcpus
        self.used_ram -= record.flavor.ram

    def _event(self, moment: float, seq: int) -> None:
        events = self.events
        if not events or events[-1] <= (moment, seq):
            events.append((moment, seq))
        else:
            bisect.insort(events, (moment, seq))

    def visible(self, record: ServerRecord, now: float) -> bool:
        """Shown by GET: not yet gone."""
        return record.gone_at is None or now < record.gone_at

    def changed_since(self, since: float, now: float) -> list[ServerRecord]:
        """Servers whose ``updated`` lies in [since, now], newest created first."""
        start = bisect.bisect_left(self.events, (since, -1))
        seqs: set[int] = set()
        events = self.events
        for index in range(start, len(events)):
            moment, seq = events[index]
            if moment > now:
                break  # sorted: the rest lie in the future
            seqs.add(seq)
        records = self.records
        return [records[seq] for seq in sorted(seqs, reverse=True) if not records[seq].vanished]

    def list_servers(self, query: ListQuery, now: float) -> tuple[list[ServerRecord], bool]:
        """One page, newest first (Nova's default ``created_at desc``; ``ascending`` for
        ``sort_dir=asc``), starting after the marker, and whether more follow."""
        marker_seq = self.by_id[query.marker].seq if query.marker is not None else None
        candidates: Iterable[ServerRecord]
        if query.changes_since is not None or query.changes_before is not None:
            # Nova shows deleted servers to either filter; -inf: every change so far.
            since = query.changes_since if query.changes_since is not None else float("-inf")
            changed = self.changed_since(since, now)
            if query.ascending:
                changed.reverse()
            if marker_seq is not None:
                after = marker_seq
                changed = [
                    r for r in changed if (r.seq > after if query.ascending else r.seq < after)
                ]
            candidates = changed
            include_gone = True
        else:
            # Walk the records from the marker on by index: no skipping from the top.
            records = self.records
            if query.ascending:
                start = marker_seq + 1 if marker_seq is not None else 0
                indexes = range(start, len(records))
            else:
                start = marker_seq - 1 if marker_seq is not None else len(records) - 1
                indexes = range(start, -1, -1)
            candidates = (records[i] for i in indexes)
            include_gone = False
        page: list[ServerRecord] = []
        for record in candidates:
            if not include_gone and not self.visible(record, now):
                continue
            if not _matches(record, query, now):
                continue
            if len(page) == query.limit:
                return page, True
            page.append(record)
        return page, False

    def status_counts(self, now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            status = record.status(now)
            if status == DELETED:
                continue
            counts[status] = counts.get(status, 0) + 1
        return counts

    # -------------------------------------------------------------- quota
    def quota_figures(self) -> Mapping[str, tuple[int, int | None]]:
        cfg = self.config
        return {
            "instances": (self.used_instances, cfg.quota_instances),
            "cores": (self.used_cores, cfg.quota_cores),
            "ram": (self.used_ram, cfg.quota_ram),
        }

    def allowed_count(self, flavor: Flavor, wanted: int) -> tuple[int, list[str]]:
        """How many of ``wanted`` fit the quota, and which resources run short.

        Never more than the instance quota's headroom, which is always finite: a
        request for 2**70 servers is answered from these figures, nothing allocated.
        """
        allowed = wanted
        short: list[str] = []
        per_server = {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram}
        for resource, (used, limit) in self.quota_figures().items():
            if limit is None:
                continue
            fits = max(0, (limit - used) // per_server[resource])
            if fits < wanted:
                short.append(resource)
            allowed = min(allowed, fits)
        return allowed, short


def _matches(record: ServerRecord, query: ListQuery, now: float) -> bool:
    if query.changes_before is not None and record.updated(now) > query.changes_before:
        return False
    if query.name is not None and not query.name.search(record.name):
        return False
    if query.status is not None and record.status(now) != query.status:
        return False
    if query.reservation_id is not None and record.reservation_id != query.reservation_id:
        return False
    if query.tags and not all(t in record.tags for t in query.tags):
        return False
    if query.tags_any and not any(t in record.tags for t in query.tags_any):
        return False
    if query.not_tags and all(t in record.tags for t in query.not_tags):
        return False
    if query.not_tags_any and any(t in record.tags for t in query.not_tags_any):
        return False
    if query.flavor is not None and record.flavor.id != query.flavor:
        return False
    if query.image is not None and record.image_id != query.image:
        return False
    return not (
        query.ip is not None
        and not any(ip is not None and query.ip.search(ip) for _, ip in record.nics)
    )


def flavor_by_ref(ref: Any) -> Flavor | None:
    """A flavorRef is an id or a link ending in the id (``common.get_id_from_href``)."""
    text = str(ref).rstrip("/").rsplit("/", 1)[-1]
    for flavor in FLAVORS:
        if flavor.id == text:
            return flavor
    return None
