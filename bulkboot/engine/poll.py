"""Batched polling: one round is a few ``GET /servers/detail`` pages, never one GET per server.

How a round works. The first round (or a periodic full round) lists every server of
the project; later rounds ask only for what changed: ``changes-since=<T>`` where
``T`` is the newest ``updated`` timestamp the previous round returned. Because ``T``
comes from the server's own records (never from this machine's clock), clock skew
cannot make a round miss a change; ``updated`` has whole-second resolution and the
filter is inclusive, so a change in the same second as ``T`` is returned again
rather than lost. ``changes-since`` also returns servers deleted in the window, with
status ``DELETED``.

One trap: a round of several pages is not one snapshot. Pages come in creation order,
so a server on page 1 that changes while page 3 is fetched is missed by this round,
while page 3 may hold a newer ``updated`` than that change: taking it as ``T`` would
lose the change for good. So when a round was big enough to have been paged
(``PAGED_GUARD`` records or more: Nova's page is ``[api]max_limit``, 1000 by default),
``T`` is moved back by the time the listing took (and down to its whole second); a
change made during the listing is then returned by the next round.

A second trap, seen on real Nova: ``updated`` is stamped when a change is saved, and the
save may become visible to a listing only later (its transaction commits after the
listing read). A round that already returned a newer record then moves ``T`` past that
change's second, and no later ``changes-since`` lists it: a server's ACTIVE (or its
deletion) is seen only by the next full listing, up to a minute late. A poller made
with ``settle`` holds ``T`` back that many seconds from the newest ``updated``, so such
a change is listed by a later round (rounds then list again what changed in the last
second or two: more to read per round, and the load run, whose timings are bounded by
the polling, pays it; see ``load.watch``).

Servers in a down cell (microversion 2.69+) come back as partial records: an ``id``
and status ``UNKNOWN``, maybe no name or metadata. They are matched by id and stay
"still building" until a full record arrives or their deadline passes.

Once a minute (``full_interval``) a round lists everything instead: a watched server
absent from it (and watched since before the round began) is reported ``missing``
(deleted and already purged, or gone for good), so nothing waits forever on a server
that is not there. Not more often: at 10,000 servers a full listing is ten pages of
JSON to decode, while ``changes-since`` already reports deletions as ``DELETED``.

A server may reach its final status before anyone watches it: a create whose answer
came back late (retried, or looked up after a lost answer) while rounds already listed
its server as the fleet's, unwatched; ``T`` has moved past its last change, so no
later ``changes-since`` round lists it again. So the poller keeps the last record of
each fleet server it listed unwatched (until the next full round lists them afresh),
and a server watched after such a sighting is reported from that record in the next
round, unless the round lists it anew.

The poller only reports sightings; what a sighting means (ACTIVE reached, deletion
done, a retry needed) is the caller's business: ``apply`` and ``destroy`` share it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Protocol

import anyio

from bulkboot.engine.pacing import PollPacing
from bulkboot.identity import is_fleet_record
from bulkboot.isotime import parse_iso

# See ``Poller.watch(changing=True)``: how long a server whose DELETE was accepted may
# show in no round before one round lists everything.
UNSEEN_AFTER: Final = 5.0
# Seconds ``changes-since`` is held back (``Poller(settle=)``, see the module
# docstring): ``apply``'s and ``destroy``'s pollers use it; on Nova 34 a change stamped
# before a listing and committed after it showed a second later at most.
SETTLE: Final = 1.0

__all__ = ["PAGED_GUARD", "SETTLE", "Lister", "PollRound", "Poller", "Sighting", "since_after"]

PAGED_GUARD = 100  # a round with fewer records was one page (Nova's max_limit is >= this)


class Lister(Protocol):
    """The one call the poller needs (``bulkboot.cloud.compute.Compute.list_servers``)."""

    def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> Awaitable[list[dict[str, Any]]]: ...


@dataclass(frozen=True, slots=True)
class Sighting:
    """One watched server as a round saw it."""

    server_id: str
    key: str  # the caller's key for it (the server's name in this run)
    status: str
    fault: str | None
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PollRound:
    """What one round brought: sightings of watched servers, and the fleet's other records
    (marked, unknown ids: multi-create members), and watched ids found missing."""

    sightings: tuple[Sighting, ...]
    unknown: tuple[Mapping[str, Any], ...]
    missing: tuple[tuple[str, str], ...]  # (server id, key)
    full: bool


def fault_message(record: Mapping[str, Any]) -> str | None:
    fault = record.get("fault")
    if isinstance(fault, Mapping):
        message = fault.get("message")
        if isinstance(message, str) and message:
            return message
    return None


class Poller:
    """Watches server ids and polls them in batches; single task, no locks needed.

    ``watch`` may be called from other tasks between rounds (same event loop).
    ``fleet``: records carrying its mark but not watched are handed back in
    ``unknown`` (members of a multi-create, creates whose answer was lost).
    """

    __slots__ = (
        "_changing",
        "_full_interval",
        "_last_full",
        "_late",
        "_lister",
        "_fleet",
        "_settle",
        "_since",
        "_unwatched",
        "_watched",
        "clock",
    )

    def __init__(
        self,
        lister: Lister,
        *,
        fleet: str | None,
        since: str | None = None,
        full_interval: float = 60.0,
        clock: Callable[[], float],
        settle: float = 0.0,
    ) -> None:
        self._lister = lister
        self._fleet = fleet
        self._settle = settle
        self._since = since
        self._full_interval = full_interval
        self._last_full = clock()
        # id -> (key, monotonic time it started being watched); insertion-ordered
        self._watched: dict[str, tuple[str, float]] = {}
        # the fleet's servers listed but not watched: id -> the last record of it
        self._unwatched: dict[str, Mapping[str, Any]] = {}
        # watched after a round listed them unwatched: reported from that record
        self._late: dict[str, Mapping[str, Any]] = {}
        # watched for a change that must come (a DELETE accepted): id -> since when, until
        # a round shows it
        self._changing: dict[str, float] = {}
        self.clock = clock

    @property
    def since(self) -> str | None:
        return self._since

    def watch(
        self, server_id: str, key: str, *, at: float | None = None, changing: bool = False
    ) -> None:
        """Watch ``server_id`` from ``at`` (now by default); re-watching moves it last.

        ``changing``: a change must come (its DELETE was accepted). A server deleted
        while Nova was still scheduling it leaves no trace in ``changes-since`` (it never
        had a record to mark DELETED): when such a server has shown in no round for
        ``UNSEEN_AFTER`` seconds, the next round lists everything, which tells it is gone.
        """
        self._watched.pop(server_id, None)
        self._watched[server_id] = (key, self.clock() if at is None else at)
        if changing:
            self._changing[server_id] = self.clock()
        if self._unwatched:
            record = self._unwatched.pop(server_id, None)
            if record is not None:
                self._late[server_id] = record

    def reorder(self) -> None:
        """Put the watched servers back in the order of their ``at`` (after watching some
        from an earlier moment): ``watched_before`` relies on that order."""
        self._watched = dict(sorted(self._watched.items(), key=lambda item: item[1][1]))

    def unwatch(self, server_id: str) -> None:
        self._watched.pop(server_id, None)
        self._changing.pop(server_id, None)

    def watching(self) -> int:
        return len(self._watched)

    def unwatched(self) -> list[Mapping[str, Any]]:
        """The fleet's servers listed by earlier rounds and not watched (their last
        records): what a caller learns is its own after the round that listed them."""
        return list(self._unwatched.values())

    def watched_before(self, moment: float) -> list[tuple[str, str]]:
        """Watched (id, key) pairs watched since before ``moment`` (for deadlines).

        Cheap whatever the count watched: the dict is in watch order, so the walk stops
        at the first one watched later.
        """
        overdue: list[tuple[str, str]] = []
        for server_id, (key, at) in self._watched.items():
            if at >= moment:
                break
            overdue.append((server_id, key))
        return overdue

    def _unseen_change(self, now: float) -> bool:
        """A change that must come was in no round for ``UNSEEN_AFTER`` seconds, and no
        full listing was made since then."""
        if not self._changing or now - self._last_full < UNSEEN_AFTER:
            return False
        return min(self._changing.values()) <= now - UNSEEN_AFTER

    def note_listing(self, records: list[dict[str, Any]], took: float) -> None:
        """Learn the server's clock from a full listing made elsewhere (the inventory),
        which took ``took`` seconds."""
        self._since = since_after(self._since, records, took)

    async def round(self) -> PollRound:
        """One round: list what changed (or everything), and sort it out."""
        started = self.clock()
        full = (
            self._since is None
            or started - self._last_full >= self._full_interval
            or self._unseen_change(started)
        )
        if full:
            self._last_full = started
        filters = None if full or self._since is None else {"changes-since": self._since}
        records = await self._lister.list_servers(filters, detail=True)
        took = self.clock() - started
        self._since = since_after(self._since, records, took, settle=self._settle)
        watched = self._watched
        sightings: list[Sighting] = []
        unknown: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        fleet = self._fleet
        if full:
            self._unwatched = {}
        unwatched = self._unwatched
        changing = self._changing
        for record in records:
            server_id = record.get("id")
            if not isinstance(server_id, str):
                continue
            if changing:
                changing.pop(server_id, None)
            entry = watched.get(server_id)
            if entry is None:
                if fleet is not None and is_fleet_record(record, fleet):
                    unknown.append(record)
                    unwatched[server_id] = record
                continue
            seen.add(server_id)
            sightings.append(_sighting(server_id, entry[0], record))
        late, self._late = self._late, {}
        missing: list[tuple[str, str]] = []
        if full:  # the listing is the truth: a late record absent from it is stale
            missing = [
                (sid, key) for sid, (key, at) in watched.items() if sid not in seen and at < started
            ]
        else:
            for late_id, last in late.items():
                entry = watched.get(late_id)
                if entry is not None and late_id not in seen:
                    sightings.append(_sighting(late_id, entry[0], last))
        return PollRound(tuple(sightings), tuple(unknown), tuple(missing), bool(full))


def _sighting(server_id: str, key: str, record: Mapping[str, Any]) -> Sighting:
    status = record.get("status")
    return Sighting(
        server_id,
        key,
        status.upper() if isinstance(status, str) else "UNKNOWN",
        fault_message(record),
        record,
    )


def nova_time(text: str) -> datetime | None:
    """One of Nova's timestamps (``2026-11-25T18:00:00Z``) as an aware datetime; None
    when it is not one."""
    try:
        moment = parse_iso(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def since_after(
    previous: str | None, records: list[dict[str, Any]], took: float, *, settle: float = 0.0
) -> str | None:
    """The ``changes-since`` value for the round after one that returned ``records``
    (listed in ``took`` seconds); see the module docstring for why big rounds step back,
    and why ``settle`` holds it back more."""
    newest = _newest(records)
    if newest is None:
        return previous
    step = (took if len(records) >= PAGED_GUARD else 0.0) + settle
    if step > 0:
        moment = nova_time(newest)
        if moment is None:
            return previous  # an unknown format: keep the last safe value
        # ``newest`` stands for a moment in [N, N + 1); a change made during the
        # listing happened at N - took or later: ask from that second on.
        back = moment - timedelta(seconds=step)
        newest = back.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if previous is not None and newest <= previous:
        return previous
    return newest


def _newest(records: list[dict[str, Any]]) -> str | None:
    newest: str | None = None
    for record in records:
        updated = record.get("updated")
        if isinstance(updated, str) and (newest is None or updated > newest):
            newest = updated
    return newest


async def sleep_interval(
    pacing: PollPacing,
    previous: float | None,
    *,
    news: bool,
    fleet_size: int,
    rng: random.Random,
    wake: anyio.Event | None = None,
) -> float:
    """Sleep the next interval (or until ``wake`` is set); return the interval used."""
    interval = pacing.next_interval(previous, news=news, fleet_size=fleet_size)
    delay = pacing.jittered(interval, rng)
    if wake is None:
        await anyio.sleep(delay)
    else:
        with anyio.move_on_after(delay):
            await wake.wait()
    return interval
