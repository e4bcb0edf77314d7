"""``status``: the fleet as the cloud sees it, beside what the manifest names.

Pure: takes the listing, the manifest and the journal's view, returns rows. Servers
the manifest names but the cloud does not have are ``missing``; servers with the
fleet mark whose names the manifest no longer holds are ``drift``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bulkboot.engine.members import member_index, members_expected
from bulkboot.engine.replay import JournalEntry
from bulkboot.identity import member_name
from bulkboot.pipeline.spec import Manifest

__all__ = ["StatusRow", "expected_names", "format_addresses", "status_rows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRow:
    name: str
    server_id: str | None
    status: str  # Nova's status, or "MISSING"
    addresses: str
    in_manifest: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.server_id,
            "status": self.status,
            "addresses": self.addresses,
            "in_manifest": self.in_manifest,
            "note": self.note,
        }


def expected_names(
    manifest: Manifest,
    listed: Iterable[str] = (),
    journal: Mapping[str, JournalEntry] | None = None,
) -> list[str]:
    """Every server name the manifest asks for (multi-create members as Nova names them).

    A group of which some members are ``listed`` expects as many as ``apply`` would
    make (``members_expected``: Nova may have made fewer than ``max_count``, and those
    are not missing); a group with none expects them all.
    """
    requested = {spec.name for spec in manifest.servers}
    listed = [name for name in listed if name not in requested]
    names: list[str] = []
    for spec in manifest.servers:
        count = spec.instance_count
        if count > 1:
            present = [n for n in listed if member_index(spec, n) is not None]
            if present:
                count = members_expected(spec, present, journal or {})
            names.extend(
                name
                for name in (member_name(spec.name, i) for i in range(1, count + 1))
                if name not in requested
            )
        else:
            names.append(spec.name)
    return names


def format_addresses(record: Mapping[str, Any]) -> str:
    """``net=ip,ip; net2=ip`` from Nova's ``addresses`` mapping."""
    addresses = record.get("addresses")
    if not isinstance(addresses, Mapping):
        return ""
    parts = []
    for network, entries in addresses.items():
        if not isinstance(entries, list):  # not Nova's shape: nothing to show
            continue
        ips = [
            str(entry.get("addr"))
            for entry in entries or ()
            if isinstance(entry, Mapping) and entry.get("addr")
        ]
        if ips:
            parts.append(f"{network}={','.join(ips)}")
    return "; ".join(parts)


def _fault(record: Mapping[str, Any]) -> str:
    fault = record.get("fault")
    if isinstance(fault, Mapping) and fault.get("message"):
        return str(fault["message"])
    return ""


def status_rows(
    manifest: Manifest,
    fleet_records: Sequence[Mapping[str, Any]],
    journal: Mapping[str, JournalEntry],
) -> list[StatusRow]:
    """Manifest order first (present or missing), then drift, by name."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for record in fleet_records:
        by_name.setdefault(str(record.get("name", "")), []).append(record)
    rows: list[StatusRow] = []
    expected = expected_names(manifest, by_name, journal)
    for name in expected:
        records = by_name.get(name, [])
        if not records:
            entry = journal.get(name)
            if entry is None or not entry.sent:
                note = "not created yet"
            elif entry.deleted and not entry.live_ids:
                note = "deleted"
            else:
                note = "created before, no longer in the cloud"
            rows.append(
                StatusRow(
                    name=name,
                    server_id=None,
                    status="MISSING",
                    addresses="",
                    in_manifest=True,
                    note=note,
                )
            )
            continue
        duplicate = "duplicate name" if len(records) > 1 else ""
        rows.extend(_row(name, r, in_manifest=True, note=_fault(r) or duplicate) for r in records)
    wanted = set(expected)
    for name in sorted(set(by_name) - wanted):
        drift = "drift: no longer in the manifest"
        rows.extend(_row(name, r, in_manifest=False, note=drift) for r in by_name[name])
    return rows


def _row(name: str, record: Mapping[str, Any], *, in_manifest: bool, note: str) -> StatusRow:
    """The row of one listed server."""
    return StatusRow(
        name=name,
        server_id=str(record.get("id")),
        status=str(record.get("status", "UNKNOWN")),
        addresses=format_addresses(record),
        in_manifest=in_manifest,
        note=note,
    )
