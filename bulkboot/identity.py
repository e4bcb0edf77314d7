"""Which servers are the fleet's: the one home of the rules every command shares.

``apply`` (what already exists), ``status`` (what to show), ``destroy`` (what to delete)
and the cloud client's look for a create whose answer was lost must agree exactly on
these rules; a second copy that drifts makes a duplicate or an orphan. They are pure
functions of Nova's server records (``GET /servers/detail`` items), so every layer may
use them: the pipeline marks the bodies, the cloud client and the engine read listings.

- The **fleet mark**: metadata ``bulkboot:fleet = <fleet name>``, in every create body.
  A server without it is never the fleet's, whatever its name.
- The **spec mark**: metadata ``bulkboot:spec = <fingerprint>``, in every create body
  beside the fleet mark: a short hash of the planned body per field
  (``pipeline.fingerprint``), by which ``plan`` and ``apply`` tell from the cloud alone
  whether a server is still what the manifest asks for. A server without it (created
  before it existed) is compared by what its record shows (flavor, image).
  Together the two marks are ``MARK_ITEMS`` of the 128 metadata items Nova allows.
- A **multi-create member**: Nova names the servers of a request ``<name>-1`` ...
  ``<name>-N`` (never ``-0``, never a leading zero: ``pool-02`` is some other server),
  N at most the request's instance count.
- **On its way out**: Nova sets ``task_state`` to ``deleting`` before it answers a
  DELETE and lists the server (status unchanged) until its host has deleted it. Where
  the listing hides ``task_state`` (a policy, a down cell's partial record), a DELETE
  journaled and never seen done decides.
- A **partial record** (a down cell, microversion 2.69+: no metadata, maybe no name,
  status UNKNOWN) is the fleet's when the journal says this fleet created its id.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

__all__ = [
    "FLEET_MARK_KEY",
    "MARK_ITEMS",
    "OWN_MARKS",
    "SPEC_MARK_KEY",
    "GONE_STATUSES",
    "TASK_STATE_KEY",
    "claim_partial",
    "is_fleet_record",
    "is_gone",
    "is_leaving",
    "member_name",
    "member_number",
    "spec_mark",
]

FLEET_MARK_KEY: Final = "bulkboot:fleet"
SPEC_MARK_KEY: Final = "bulkboot:spec"
OWN_MARKS: Final = frozenset({FLEET_MARK_KEY, SPEC_MARK_KEY})
MARK_ITEMS: Final = len(OWN_MARKS)  # metadata items bulkboot adds to every create
TASK_STATE_KEY: Final = "OS-EXT-STS:task_state"
GONE_STATUSES: Final = frozenset({"DELETED", "SOFT_DELETED"})


def is_fleet_record(record: Mapping[str, Any], fleet: str) -> bool:
    """Does this server carry the fleet's mark?"""
    metadata = record.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get(FLEET_MARK_KEY) == fleet


def spec_mark(record: Mapping[str, Any]) -> str | None:
    """The server's spec mark (its fingerprint when created), None when it has none."""
    metadata = record.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    mark = metadata.get(SPEC_MARK_KEY)
    return mark if isinstance(mark, str) else None


def member_name(request: str, number: int) -> str:
    """The name Nova gives member ``number`` (from 1) of a multi-create named ``request``."""
    return f"{request}-{number}"


def member_number(request: str, name: str, count: int) -> int | None:
    """Which member of the multi-create ``request`` (of ``count`` instances) ``name`` is,
    or None when it is none: a suffix of ASCII digits without a leading zero, 1..count."""
    if len(name) <= len(request) + 1 or not name.startswith(request):
        return None
    if name[len(request)] != "-":
        return None
    suffix = name[len(request) + 1 :]
    if not (suffix.isascii() and suffix.isdigit()) or suffix[0] == "0":
        return None
    number = int(suffix)
    return number if number <= count else None


def is_gone(record: Mapping[str, Any]) -> bool:
    """Deleted already (Nova lists a deleted server briefly as DELETED)."""
    return record.get("status") in GONE_STATUSES


def is_leaving(record: Mapping[str, Any], pending_deletes: Collection[str] = ()) -> bool:
    """Is this listed server on its way out (a DELETE accepted, not yet done)?

    ``pending_deletes``: ids whose DELETE the journal recorded and never saw done; they
    decide only where the record hides ``task_state``.
    """
    if TASK_STATE_KEY in record:
        return bool(record[TASK_STATE_KEY] == "deleting")
    return bool(pending_deletes) and str(record.get("id")) in pending_deletes


def claim_partial(record: Mapping[str, Any], journal_ids: Mapping[str, str]) -> str | None:
    """The journal's name for a partial record (no metadata) this fleet created, else None."""
    if not journal_ids or isinstance(record.get("metadata"), Mapping):
        return None
    return journal_ids.get(str(record.get("id")))
