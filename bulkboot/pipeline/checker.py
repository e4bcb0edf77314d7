"""The state of checking one group: where its values are written, and the problems found.

Every rule reports through ``Checker.add`` with the path of the value it read
(``networks.0.v4-fixed-ip``); the checker places the problem at that value, else at the
nearest enclosing one, else at the group, and reports each problem once per place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Limits, Location, Problem, ServerSpec

__all__ = ["Check", "Checker"]


class Checker:
    """Collects problems for one group at a time; a problem is reported once per place."""

    def __init__(self, version: Microversion, limits: Limits) -> None:
        self.version = version
        self.limits = limits
        self.problems: list[Problem] = []
        self.seen: set[tuple[Location, str]] = set()
        self.locations: Mapping[str, Location] = {}
        self.default = Location("", 0, 0)
        self.subject = ""
        # Where ``defaults`` is written, and whether the check at hand is one server's
        # (a templated value): a problem placed in defaults is reported as "defaults"
        # (and, for one server's rendering, which server), not as the group's.
        self.defaults_at: tuple[Location, Location] | None = None
        self.per_server = False

    def where(self, path: str) -> Location:
        """The place of a value: its own node, else the nearest enclosing one, else the group."""
        locations = self.locations
        while path:
            found = locations.get(path)
            if found is not None:
                return found
            path = path.rpartition(".")[0]
        return self.default

    def add(self, path: str, message: str) -> None:
        location = self.where(path)
        key = (location, message)
        if key not in self.seen:
            self.seen.add(key)
            self.problems.append(Problem(location, self._subject(location), message))

    def _subject(self, location: Location) -> str:
        span = self.defaults_at
        if span is None or location.file != span[0].file:
            return self.subject
        place = (location.line, location.column)
        if not (span[0].line, span[0].column) <= place <= (span[1].line, span[1].column):
            return self.subject
        return f"defaults (for {self.subject})" if self.per_server else "defaults"

    def gate(self, field: str, label: str | None = None) -> None:
        if not mv.field_supported(field, self.version):
            self.add(
                field,
                f"{label or repr(field)} needs compute {mv.gate_text(field)}; "
                f"validating for {self.version}",
            )


Check = Callable[[ServerSpec, Checker], None]
