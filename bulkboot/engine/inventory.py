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
- the rest is to create; names carried by several servers are noted;
- given the planned bodies, each server found is compared with the plan for its name
  (``changes``): unchanged, or changed (left alone and reported, or with
  ``--replace-changed`` a ``Replacement`` for the rollout); a server at the plan beside
  older ones is an interrupted replacement, only their deletion left. What it all
  comes to is ``diff.Diff`` (``plan`` shows it): with the servers the manifest no
  longer names (deleted by ``--prune``, else kept) and the names to create that a
  server outside the fleet carries (never adopted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bulkboot.engine.changes import Change, Planned, judge_name
from bulkboot.engine.diff import (
    Diff,
    Errored,
    Extra,
    Replacement,
    changes_note,
    drift_note,
    foreign_by_name,
    found_note,
    names_taken,
    possible_note,
    server_names,
    wall_time,
)
from bulkboot.engine.fleet import claim_records, record_age, split_leaving
from bulkboot.engine.members import member_index, member_spec, members_expected
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.poll import fault_message
from bulkboot.engine.replay import JournalEntry, possibly_created
from bulkboot.engine.state import Found, Phase, ServerState, transition
from bulkboot.identity import member_name, spec_mark
from bulkboot.pipeline.spec import Manifest, ServerSpec

Record = Mapping[str, Any]

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
    diff: Diff = Diff()
    # names to replace (--replace-changed), and interrupted replacements to finish
    replacements: tuple[Replacement, ...] = ()
    # names with a server found whose last create an earlier run sent and never saw
    # answered, in its window: a second server of the name may still land
    may_land: frozenset[str] = frozenset()
    # every name the journal has a create of (``writers``: an earlier run's create of a
    # name the manifest no longer asks for may land during the run)
    earlier_creates: frozenset[str] = frozenset()


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
    planned: Mapping[str, Planned] | None = None,
    flavor_names: Mapping[str, str] | None = None,
    in_scope: Callable[[str], bool] | None = None,
) -> InventoryPlan:
    """Read ``records`` (one full listing) against the manifest and the journal.

    ``now`` is the run's clock at the listing; ``cloud_now`` the cloud's (its answer's
    ``Date``), against which a server's ``created`` says how old it is; ``wall_now``
    this machine's wall clock (the journal's), against which a create sent and never
    answered is possibly created for ``window`` seconds (0: none is). ``planned``: each
    request's planned body by its name (``changes.plan_servers``; None: every server
    found is unchanged); ``flavor_names``: flavor id -> name (servers without a spec
    mark); ``in_scope``: the names ``--only`` covers (drift outside it is ignored).
    """
    inventory = _Inventory(manifest, records, entries, options, now, cloud_now, wall_now)
    inventory.window, inventory.planned = window, planned
    inventory.flavor_names, inventory.in_scope = flavor_names or {}, in_scope
    return inventory.plan()


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
    ) -> None:
        self.manifest = manifest
        self.entries = entries
        self.options = options
        self.now = now
        self.cloud_now = cloud_now
        self.wall_now = wall_now
        self.window = 0.0
        self.planned: Mapping[str, Planned] | None = None
        self.flavor_names: Mapping[str, str] = {}
        self.in_scope: Callable[[str], bool] | None = None
        records = records if isinstance(records, list | tuple) else list(records)
        claimed = claim_records(records, manifest.name, entries)
        self.foreign = foreign_by_name(records, manifest.name)
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
        self.request_of: dict[str, str] = {s.name: s.name for s in manifest.servers}
        self.replace_diff: list[Change] = []
        self.unchanged: list[str] = []
        self.errors: list[Errored] = []
        self.replacements: list[Replacement] = []
        self.may_land: set[str] = set()

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
        extra = self._drift()
        for note in (
            found_note(
                existed=len(self.found),
                retried=len(self.replace),
                to_create=len(self.to_create),
                waiting=len(set(self.leaving.values())),
            ),
            possible_note(self.possible, now=self.now, wall_now=self.wall_now),
        ):
            if note is not None:
                self.notes.append(note)
        diff = Diff(
            create=self._create_names(),
            replace=tuple(self.replace_diff),
            extra=extra,
            unchanged=tuple(self.unchanged),
            errors=tuple(self.errors),
            prune=self.options.prune,
        )
        new = [*diff.create, *(r.name for r in self.replacements if not r.settled)]
        diff = dataclasses.replace(diff, name_taken=names_taken(self.foreign, new))
        note = changes_note(diff, replace=self.options.replace_changed)
        if note is not None:
            self.notes.append(note)
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
            diff=diff,
            replacements=tuple(self.replacements),
            may_land=frozenset(self.may_land),
            earlier_creates=frozenset(n for n, e in self.entries.items() if e.sent),
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
            self.request_of.setdefault(member, spec.name)
        for member in members:
            self._add_member(spec, member)
        # The group's other members were deleted (a destroy killed half-way): each is
        # made again on its own name, once its old server is gone.
        present = [*members, *(n for n in self.going if member_at(n))]
        for index in range(1, members_expected(spec, present, self.entries) + 1):
            member = member_name(spec.name, index)
            if member not in self.by_name and member not in self.requested:
                self.request_of.setdefault(member, spec.name)
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
        """A server of the fleet already there: found, watched, replaced or retried."""
        self.accounted.add(name)
        found = self.by_name[name]
        planned = self.planned.get(self.request_of.get(name, name)) if self.planned else None
        only = found[0] if len(found) == 1 else None
        if (
            planned is not None
            and only is not None
            and only.get("status") != "ERROR"
            and spec_mark(only) == planned.mark
        ):
            self.unchanged.append(name)  # the common case, said at once: one server at the plan
            self._found(name, only)
            self._may_land(name)
            return
        verdict = judge_name(name, found, planned, self.flavor_names)
        chosen = verdict.chosen
        if verdict.twins:
            self.notes.append(
                f"{name}: {len(found)} servers of the fleet carry this name; "
                "accounting for one (see `bulkboot status`)"
            )
        failed = chosen.get("status") == "ERROR"  # --retry-errors' business, not a change
        if not failed:
            self.replace_diff.extend(verdict.changes)
        window = possibly_created(
            self.entries.get(name), wall_now=self.wall_now, window=self.window
        )
        if self.options.replace_changed and not failed and verdict.going and planned:
            self.replacements.append(
                Replacement(
                    name=name,
                    group=self.states[name].group if name in self.states else "",
                    old=tuple((str(r["id"]), str(r.get("status", ""))) for r in verdict.going),
                    delete_first=self.options.replace_order == "delete-first" or planned.pinned,
                    settled=verdict.settled,
                )
            )
            if not verdict.settled:  # created anew by the rollout: no server is found
                if window is not None:
                    self.possible[name] = self.now + window
                return
        elif window is not None:
            self.may_land.add(name)
        if not failed and verdict.settled and not verdict.changes:
            self.unchanged.append(name)
        self._found(name, chosen)

    def _may_land(self, name: str) -> None:
        """A name with a server whose last create may still land (a second server)."""
        entry = self.entries.get(name)
        if entry is not None and entry.unconfirmed:
            if possibly_created(entry, wall_now=self.wall_now, window=self.window) is not None:
                self.may_land.add(name)

    def _found(self, name: str, chosen: Record) -> None:
        """The server accounted for under ``name``: watched if building, retried in ERROR."""
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
        elif state.phase is Phase.ERROR and state.server_id:
            retryable = state.failure != "quota"
            self.errors.append(
                Errored(
                    name=name, server_id=state.server_id, fault=state.message, retryable=retryable
                )
            )
            if retryable and self.options.retry_errors > 0:
                self.replace.append(name)

    def _drift(self) -> tuple[Extra, ...]:
        """The fleet's servers the manifest no longer names (in scope), noted."""
        scope = self.in_scope
        drift = sorted(n for n in set(self.by_name) - self.accounted if scope is None or scope(n))
        extra = tuple(
            Extra(name=n, server_id=str(r["id"]), status=str(r.get("status", "")))
            for n in drift
            for r in self.by_name[n]
        )
        note = drift_note(self.manifest.name, extra, prune=self.options.prune)
        if note is not None:
            self.notes.append(note)
        return extra

    def _create_names(self) -> tuple[str, ...]:
        """Every server name a create would make (a multi-create's members included):
        to create now, once an old server is gone, or if an earlier create never lands."""
        replaced = {r.name for r in self.replacements}
        requests = [*self.to_create, *self.leaving.values(), *self.possible]
        specs = {s.name: s for s in self.manifest.servers}
        return server_names(
            (
                specs.get(r) or self.member_specs[r]
                for r in dict.fromkeys(requests)
                if r not in replaced
            ),
            self.requested,
        )
