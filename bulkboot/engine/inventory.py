"""What already exists, and what to do about it: a pure function from a listing to a plan.

``apply`` lists the cloud once before anything else; ``take_inventory`` reads that
listing against the manifest and the journal and says, without any I/O:

- the fleet's servers already there (a ``Found`` event each): left alone; a build among
  them is watched with its deadline running from its creation on the cloud's clock,
  so a re-apply does not give a stuck build more time; one in ERROR is replaced only
  with ``--retry-errors`` (never a quota failure: it would fail again);
- a server on its way out (``task_state`` deleting, or a DELETE journaled and never
  seen done: a killed ``destroy``) is not the fleet's any more: it is waited out, and
  its name is created once it is gone (a multi-create whose members are all leaving is
  sent again as one request once every one of them is gone);
- a multi-create found with some members: the request is now its members, each a
  server of its own; members the group lacks (``members.members_expected``) are
  created on their own names, never by sending the request again;
- a name whose last create an earlier run sent and never saw answered, less than the
  request timeout (``window``) ago, is *possibly created*: Nova has no idempotency
  key and carries out a create whose client has gone, so it is not created now; the
  poll loop looks for it by name and fleet mark (its members, for a multi-create) and
  creates it only once its window has passed and it has not shown up;
- the rest is to create; servers of the fleet the manifest no longer names (drift)
  and names carried by several servers are noted, and left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bulkboot.engine.fleet import claim_records, pick, record_age, split_leaving
from bulkboot.engine.members import member_index, member_spec, members_expected
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.poll import fault_message
from bulkboot.engine.replay import JournalEntry, possibly_created
from bulkboot.engine.state import Found, Phase, ServerState, transition
from bulkboot.identity import member_name
from bulkboot.pipeline.spec import Manifest, ServerSpec

__all__ = ["InventoryPlan", "Watch", "take_inventory", "wall_time"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Watch:
    """A server the poll loop watches from the start; its deadline runs from ``since``."""

    server_id: str
    name: str
    since: float


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryPlan:
    """What ``take_inventory`` found, as the run's first steps.

    ``states`` is the board's first content, in order; the ``found`` events then apply
    to it (they are journaled and shown like any other event). ``leaving`` maps each
    server waited out to the name to create once it is gone (a multi-create's request
    name once all its members are gone). ``member_specs`` are the multi-create members
    that are servers of their own from now on (replaced or created on their own).
    """

    states: tuple[ServerState, ...]
    found: tuple[Found, ...]
    to_create: tuple[str, ...]
    replace: tuple[str, ...]  # existing ERRORs to delete and create again
    leaving: Mapping[str, str]
    watches: tuple[Watch, ...]
    member_specs: Mapping[str, ServerSpec]
    notes: tuple[str, ...]
    # possibly created (an earlier run's create, unanswered, in its window): name ->
    # when its window ends, on the run's clock
    possible: Mapping[str, float] = dataclasses.field(default_factory=dict)
    known_ids: frozenset[str] = frozenset()  # every id of the fleet the listing showed


def take_inventory(
    manifest: Manifest,
    records: Iterable[Mapping[str, Any]],
    entries: Mapping[str, JournalEntry],
    options: ApplyOptions,
    *,
    now: float,
    cloud_now: datetime | None,
    wall_now: float = 0.0,
    window: float = 0.0,
) -> InventoryPlan:
    """Read ``records`` (one full listing) against the manifest and the journal.

    ``now`` is the run's clock at the listing; ``cloud_now`` the cloud's (its answer's
    ``Date``), against which a server's ``created`` says how old it is; ``wall_now``
    this machine's wall clock (the journal's), against which a create sent and never
    answered is possibly created for ``window`` seconds (0: none is).
    """
    return _Inventory(manifest, records, entries, options, now, cloud_now, wall_now, window).plan()


Record = Mapping[str, Any]


class _Inventory:
    """The working state of one ``take_inventory`` call (never shared)."""

    def __init__(
        self,
        manifest: Manifest,
        records: Iterable[Record],
        entries: Mapping[str, JournalEntry],
        options: ApplyOptions,
        now: float,
        cloud_now: datetime | None,
        wall_now: float,
        window: float,
    ) -> None:
        self.manifest = manifest
        self.entries = entries
        self.options = options
        self.now = now
        self.cloud_now = cloud_now
        self.wall_now = wall_now
        self.window = window
        claimed = claim_records(records, manifest.name, entries)
        self.known_ids = frozenset(str(r.get("id")) for found in claimed.values() for r in found)
        # names with a server to wait out (and nothing else), and the id to wait for
        self.by_name, self.going = split_leaving(claimed, entries)
        self.requested = {s.name for s in manifest.servers}
        self.states: dict[str, ServerState] = {
            s.name: ServerState(name=s.name, group=s.group) for s in manifest.servers
        }
        self.after_found: dict[str, ServerState] = {}
        self.found: list[Found] = []
        self.to_create: list[str] = []
        self.replace: list[str] = []
        self.leaving: dict[str, str] = {}
        self.watches: list[Watch] = []
        self.member_specs: dict[str, ServerSpec] = {}
        self.notes: list[str] = []
        self.accounted: set[str] = set(self.going)
        self.possible: dict[str, float] = {}

    def plan(self) -> InventoryPlan:
        for spec in self.manifest.servers:
            if spec.instance_count > 1:
                names = self._group(spec)
            elif spec.name in self.by_name:
                names = [spec.name]
            else:
                if self._defer_until_gone(spec.name, spec.group):
                    self._to_create(spec.name)
                names = []
            for name in names:
                self._account(name)
        self._note_drift()
        self._note_summary()
        self._note_possible()
        return InventoryPlan(
            states=tuple(self.states.values()),
            found=tuple(self.found),
            to_create=tuple(self.to_create),
            replace=tuple(self.replace),
            leaving=dict(self.leaving),
            watches=tuple(sorted(self.watches, key=lambda w: w.since)),
            member_specs=dict(self.member_specs),
            notes=tuple(self.notes),
            possible=dict(self.possible),
            known_ids=self.known_ids,
        )

    def _group(self, spec: ServerSpec) -> list[str]:
        """A multi-create: the members found (to account for), after planning the rest."""

        # a server that the manifest names itself (``pool-2`` beside ``pool``) is not a
        # member, nor one numbered past the count (drift)
        def member_at(name: str) -> int:
            at = member_index(spec, name)
            return 0 if at is None or name in self.requested else at

        members = sorted((n for n in self.by_name if member_at(n)), key=member_at)
        if not members:
            gone = [(i, n) for n, i in self.going.items() if member_at(n)]
            if gone:  # created again as one request once every member is gone
                for server_id, member in gone:
                    self.leaving[server_id] = spec.name
                    self.watches.append(Watch(server_id=server_id, name=member, since=self.now))
            else:
                self._to_create(spec.name)
            return []
        del self.states[spec.name]  # the request is now its members
        for member in members:
            self.states[member] = ServerState(name=member, group=spec.group)
        for member in members:
            self._add_member(spec, member)
        # The group's other members were deleted (a destroy killed half-way): each is
        # made again on its own name, once its old server is gone.
        present = [*members, *(n for n in self.going if member_at(n))]
        for index in range(1, members_expected(spec, present, self.entries) + 1):
            member = member_name(spec.name, index)
            if member not in self.by_name and member not in self.requested:
                self._add_member(spec, member)
                self.accounted.add(member)
                self.states[member] = ServerState(name=member, group=spec.group)
                if self._defer_until_gone(member, spec.group):
                    self._to_create(member)
        return members

    def _to_create(self, name: str) -> None:
        """A name the fleet lacks: to create, unless an earlier create of it may land."""
        left = possibly_created(self.entries.get(name), wall_now=self.wall_now, window=self.window)
        if left is None:
            self.to_create.append(name)
        else:
            self.possible[name] = self.now + left

    def _add_member(self, spec: ServerSpec, member: str) -> None:
        if member not in self.requested:
            self.member_specs.setdefault(member, member_spec(spec, member))

    def _defer_until_gone(self, name: str, group: str) -> bool:
        """A server the fleet lacks: True to create it now; False when its old server is
        still on its way out (shown as deleting, queued by the poll loop once gone)."""
        old_id = self.going.get(name)
        if old_id is None:
            return True
        self.leaving[old_id] = name
        self.states.pop(name, None)
        self.states[name] = ServerState(
            name=name, group=group, phase=Phase.DELETING, server_id=old_id
        )
        self.watches.append(Watch(server_id=old_id, name=name, since=self.now))
        return False

    def _account(self, name: str) -> None:
        """A server of the fleet already there: found, watched or replaced."""
        self.accounted.add(name)
        found = self.by_name[name]
        if len(found) > 1:
            self.notes.append(
                f"{name}: {len(found)} servers of the fleet carry this name; "
                "accounting for one (see `bulkboot status`)"
            )
        chosen = pick(found)
        event = Found(
            name=name,
            at=self.now,
            server_id=str(chosen["id"]),
            status=str(chosen.get("status", "UNKNOWN")),
            fault=fault_message(chosen),
        )
        old = self.after_found.get(name) or self.states.get(name)
        if old is None:
            return
        state = transition(old, event)
        if state is old:
            return
        self.after_found[name] = state
        self.found.append(event)
        if state.phase is Phase.BUILDING and state.server_id:
            since = self.now - record_age(chosen, self.cloud_now)
            self.watches.append(Watch(server_id=state.server_id, name=name, since=since))
        elif (
            state.phase is Phase.ERROR
            and state.failure != "quota"
            and self.options.retry_errors > 0
        ):
            self.replace.append(name)

    def _note_drift(self) -> None:
        drift = sorted(set(self.by_name) - self.accounted)
        if drift:
            shown = ", ".join(drift[:5]) + (" ..." if len(drift) > 5 else "")
            self.notes.append(
                f"{len(drift)} server(s) of fleet {self.manifest.name!r} are no longer in "
                f"the manifest and were left alone: {shown}"
            )

    def _note_summary(self) -> None:
        existed = len(self.found)
        if not existed and not self.leaving:
            return
        replace = self.replace
        note = (
            f"{existed - len(replace)} server(s) already existed and were left alone; "
            f"{len(self.to_create)} to create"
        )
        if replace:
            note += f"; {len(replace)} in ERROR to delete and create again (--retry-errors)"
        waiting = len(set(self.leaving.values()))
        if waiting:
            note += (
                f"; {waiting} being deleted (an interrupted destroy?), to create again once gone"
            )
        self.notes.append(note)

    def _note_possible(self) -> None:
        if not self.possible:
            return
        until = self.wall_now + max(self.possible.values()) - self.now
        names = sorted(self.possible)
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        self.notes.append(
            f"{len(names)} create(s) of an earlier run were sent and never answered (it was "
            f"stopped?): they may still land until {wall_time(until)}, so they are looked "
            f"for by name and fleet mark until then, and created only if they do not "
            f"appear: {shown}"
        )


def wall_time(moment: float) -> str:
    """A moment of the wall clock as users read it in notes: ``14:02:11 UTC``."""
    return f"{datetime.fromtimestamp(moment, timezone.utc):%H:%M:%S} UTC"
