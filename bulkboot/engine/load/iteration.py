"""One iteration, phase by phase: POST, ACTIVE, (list), DELETE, gone.

Where each phase is measured from (the run's clock; see docs/load.md):

- ``schedule_lag``: the iteration's task begins minus its intended start;
- ``post``: ``POST /servers`` handed to the client -> its answer (retries of 429/503
  and the look-up after a lost answer included; ``attempts`` says when there were),
  refusals included: an error answer (a 409, a 403 over quota, a 500) is timed too,
  its status kept (``post_status``); a POST that got no answer at all is not timed;
- ``active``: the POST's answer -> the poll round that saw ACTIVE (late by at most
  the hub's ``bound``, never early);
- ``build``: Nova's own ``created`` -> ``OS-SRV-USG:launched_at`` of the ACTIVE record
  (the cloud's clock; ``created`` has whole seconds);
- ``list``: one listing of the project's servers (every page) -> the last page;
- ``delete``: ``DELETE`` sent -> answered (an error answer timed too, as for
  ``post``); ``gone``: that answer -> the round that saw the server deleted (the same
  bound as ``active``);
- ``total``: the intended start -> the end of the last phase, so that time spent
  waiting to start (in the client or in a queue) is in it.

Every server is journaled before its POST (``CreateSent``: in the kernel once
``record`` returns, so it survives SIGKILL), with its id once answered, and before and
after its DELETE. A server this iteration could not see gone stays in ``live`` for
the run's clean-up (``cleanup.sweep``); an iteration interrupted by a stop leaves its
server there too, without waiting for it.

An error that every other request would meet too (``FATAL``: authentication refused
or no longer renewable, the endpoint gone from the catalog) fails the iteration it
hit and is handed to ``on_fatal``, which stops the run: the run then summarises what
it measured and cleans up what it can, instead of dying with its servers unnamed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from bulkboot.engine.compute_api import ComputeApi, refusal
from bulkboot.engine.journal import Journal
from bulkboot.engine.load.recorder import Recorder
from bulkboot.engine.load.sample import Sample
from bulkboot.engine.load.templates import Templates
from bulkboot.engine.load.watch import PollHub, Seen
from bulkboot.engine.poll import nova_time
from bulkboot.engine.state import Created, CreateRefused, CreateSent, Deleted, DeleteSent
from bulkboot.errors import ApiError, AuthError, CloudError, CreateUncertain, EndpointNotFound

__all__ = ["FATAL", "Iterations", "cloud_build_seconds"]

# Errors that end the run: every other request would fail the same way.
FATAL: Final = (AuthError, EndpointNotFound)


def _ignore(error: CloudError) -> None:
    pass


_LAUNCHED = "OS-SRV-USG:launched_at"


def cloud_build_seconds(record: object) -> float | None:
    """Nova's own build time, ``created`` -> ``launched_at`` (None when either is absent)."""
    if not isinstance(record, dict):
        return None
    created, launched = record.get("created"), record.get(_LAUNCHED)
    if not isinstance(created, str) or not isinstance(launched, str):
        return None
    begin, end = nova_time(created), nova_time(launched)
    if begin is None or end is None or end < begin:
        return None
    return (end - begin).total_seconds()


class Iterations:
    """What every iteration of a run shares, and ``run`` for one of them."""

    __slots__ = (
        "_clock",
        "_compute",
        "_hub",
        "_journal",
        "_templates",
        "deleting",
        "list_servers",
        "live",
        "on_fatal",
        "posting",
        "recorders",
        "scenario",
        "started_at",
        "stopping",
        "timeout",
        "unsure",
    )

    def __init__(
        self,
        compute: ComputeApi,
        hub: PollHub,
        journal: Journal,
        templates: Templates,
        *,
        scenario: str,
        clock: Callable[[], float],
        started_at: float,
        recorders: Sequence[Recorder],
        timeout: float,
        on_fatal: Callable[[CloudError], None] = _ignore,
    ) -> None:
        self._compute = compute
        self.on_fatal = on_fatal
        self._hub = hub
        self._journal = journal
        self._templates = templates
        self._clock = clock
        self.scenario = scenario
        self.list_servers = scenario == "boot-list-delete"
        self.started_at = started_at
        self.recorders = tuple(recorders)
        self.timeout = timeout
        self.stopping = False
        self.live: dict[str, str] = {}  # server id -> name: created, not seen gone
        self.deleting: set[str] = set()  # ids whose DELETE was accepted
        self.unsure: list[str] = []  # names whose create's answer was lost
        # names whose POST is on its way: what a run stopped at once leaves in flight
        self.posting: set[str] = set()

    async def run(self, sample: Sample) -> None:
        """Run one iteration and record it (its start now, its outcome at its end)."""
        clock = self._clock
        began = clock()
        offset = began - self.started_at
        for recorder in self.recorders:
            recorder.start(sample, offset)
        try:
            await self._phases(sample, began)
        finally:
            if sample.outcome is None and sample.total is None:
                sample.outcome = "interrupted"  # cancelled (Ctrl-C twice)
            ended = clock() - self.started_at
            for recorder in self.recorders:
                recorder.finish(sample, ended)

    async def _phases(self, sample: Sample, began: float) -> None:
        clock = self._clock
        journal = self._journal
        intended = self.started_at + sample.intended
        # a send after a 429/503/500 is journaled before it goes on the wire: the
        # window in which Nova may still make the server runs from the last one
        request = self._templates.request(sample.index, journal.record_attempt)
        name = sample.name = request.name
        journal.record(CreateSent(name=name, at=began))
        sent = clock()
        posting = self.posting
        posting.add(name)
        try:
            created = await self._compute.create_server(request)
        except FATAL as exc:
            posting.discard(name)
            # Most likely refused before Nova acted, but the look-up after a lost answer
            # can meet it too: left as sent and unanswered in the journal (``destroy``
            # waits out its window), looked for by the run mark at the end.
            self.unsure.append(name)
            self._fatal(sample, "post", exc)
            return
        except CreateUncertain as exc:
            # It may exist: the run's clean-up looks for it by the run mark.
            posting.discard(name)
            self.unsure.append(name)
            sample.fail("post", refusal(exc))
            return
        except CloudError as exc:
            posting.discard(name)
            refused = clock()
            message = refusal(exc)
            if isinstance(exc, ApiError):
                # an answer came: its time is the POST's, in its percentiles (by status)
                sample.request_id = exc.request_id
                sample.post = refused - sent
                sample.post_status = exc.http_status
            journal.record(CreateRefused(name=name, at=refused, message=message))
            sample.fail("post", message)
            return
        posting.discard(name)
        answered = clock()
        sample.post = answered - sent
        sample.post_status = None if created.recovered else created.timing.status
        sample.request_id = created.request_id
        sample.attempts = created.timing.attempts
        server_id = created.id
        if server_id is None:  # templates refuse reservation-id creates: not expected
            sample.fail("post", "Nova answered without the server's id")
            self.unsure.append(name)
            return
        sample.server_id = server_id
        journal.record(
            Created(
                name=name,
                at=answered,
                server_id=server_id,
                post_seconds=sample.post,
                http_attempts=created.timing.attempts,
            )
        )
        self.live[server_id] = name
        if self.stopping:
            sample.outcome = "interrupted"
            return
        seen = await self._hub.until_active(server_id, name)
        if seen.kind != "active":
            await self._not_active(sample, seen, server_id, name)
            return
        sample.active = seen.at - answered
        sample.build = cloud_build_seconds(seen.record)
        if self.scenario == "boot":
            sample.total = seen.at - intended
            return
        if self.list_servers and not await self._list(sample, server_id):
            await self._clean_up(server_id, name)
            return
        if self.stopping:
            sample.outcome = "interrupted"
            return
        await self._delete(sample, server_id, name, intended)

    async def _not_active(self, sample: Sample, seen: Seen, server_id: str, name: str) -> None:
        if seen.kind == "stopped":
            sample.outcome = "interrupted"
            return
        if seen.kind == "error":
            sample.fail("active", seen.fault or "the server went to ERROR")
        elif seen.kind == "timeout":
            sample.fail("active", f"not ACTIVE {self.timeout:g}s after its POST was answered")
        else:  # vanished: deleted by someone else
            self.live.pop(server_id, None)
            sample.fail("active", "the server was deleted before it was ACTIVE")
            return
        await self._clean_up(server_id, name)

    async def _list(self, sample: Sample, server_id: str) -> bool:
        """The list phase; False when it failed (recorded)."""
        clock = self._clock
        began = clock()
        try:
            records = await self._compute.list_servers(None, detail=True)
        except FATAL as exc:
            self._fatal(sample, "list", exc)
            return False
        except CloudError as exc:
            if isinstance(exc, ApiError):
                sample.list = clock() - began  # answered: timed, as a refused POST is
            sample.fail("list", refusal(exc))
            return False
        sample.list = clock() - began
        if not any(record.get("id") == server_id for record in records):
            sample.fail("list", "the iteration's server was not in the listing")
            return False
        return True

    async def _delete(self, sample: Sample, server_id: str, name: str, intended: float) -> None:
        clock = self._clock
        journal = self._journal
        journal.record(DeleteSent(name=name, at=clock(), server_id=server_id))
        began = clock()
        try:
            existed = await self._compute.delete_server(server_id)
        except FATAL as exc:
            self._fatal(sample, "delete", exc)  # the clean-up tries what it can
            return
        except CloudError as exc:
            if isinstance(exc, ApiError):
                sample.delete = clock() - began  # answered: timed, as a refused POST is
            sample.fail("delete", refusal(exc))  # the clean-up tries again
            return
        answered = clock()
        sample.delete = answered - began
        if not existed:
            self._gone(server_id, name, answered)
            sample.fail("delete", "the server was gone before its DELETE (404)")
            return
        self.deleting.add(server_id)
        seen = await self._hub.until_gone(server_id, name)
        if seen.kind == "gone":
            self._gone(server_id, name, seen.at)
            sample.gone = seen.at - answered
            sample.total = seen.at - intended
        elif seen.kind == "stopped":
            sample.outcome = "interrupted"
        else:
            sample.fail("gone", f"still there {self.timeout:g}s after its DELETE was answered")

    def _fatal(self, sample: Sample, phase: str, error: CloudError) -> None:
        sample.fail(phase, refusal(error))
        self.on_fatal(error)

    def _gone(self, server_id: str, name: str, at: float) -> None:
        self.live.pop(server_id, None)
        self.deleting.discard(server_id)
        self._journal.record(Deleted(name=name, at=at, server_id=server_id))

    async def _clean_up(self, server_id: str, name: str) -> None:
        """Delete a failed iteration's server now (not timed as a phase); if that does
        not work out, the run's clean-up tries again."""
        if self.stopping:
            return
        self._journal.record(DeleteSent(name=name, at=self._clock(), server_id=server_id))
        try:
            existed = await self._compute.delete_server(server_id)
        except FATAL as exc:
            self.on_fatal(exc)
            return
        except CloudError:
            return
        if not existed:
            self._gone(server_id, name, self._clock())
            return
        self.deleting.add(server_id)
        seen = await self._hub.until_gone(server_id, name)
        if seen.kind == "gone":
            self._gone(server_id, name, seen.at)
