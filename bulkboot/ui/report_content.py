"""What a report shows, whatever draws it: its title and its tables, by kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkboot.ui.load_tables import load_tables
from bulkboot.ui.report_tables import Table
from bulkboot.ui.run_tables import run_tables

__all__ = ["tables_for", "title_of"]


def title_of(document: Mapping[str, Any]) -> str:
    """``bulkboot apply: fleet lab`` (the fleet, or the load run's name, when known)."""
    kind = str(document.get("kind"))
    summary = document.get("summary")
    name = summary.get("fleet") if isinstance(summary, Mapping) else None
    if name is None:
        name = document.get("fleet") or document.get("name")
    return f"bulkboot {kind}" + (f": fleet {name}" if name else "")


def tables_for(document: Mapping[str, Any]) -> list[Table]:
    """The report's tables in the order every renderer shows them."""
    if document.get("kind") == "load":
        return load_tables(document)
    return run_tables(document)
