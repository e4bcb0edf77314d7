"""Nova's rule for query parameters a route does not list, in Nova's words.

Before 2.75 Nova drops them silently (its query schemas allow additional properties
and then strip them). From 2.75 the lists and ``/limits`` refuse them, and from 2.102
every API does, shows included. The words are those of the ``jsonschema`` error Nova
passes on: "Additional properties are not allowed ('x' was unexpected)", or, for the
server lists (whose schema lets keys starting with ``_`` through), "'x' does not match
any of the regexes: '^_'".
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from bulkboot.simulator.http import nova_error

__all__ = ["refuse_unknown", "refuse_unknown_server_filters"]


def _unknown(keys: Iterable[str], allowed: frozenset[str]) -> list[str]:
    return sorted({key for key in keys if key not in allowed})


def refuse_unknown(request: web.Request, allowed: frozenset[str]) -> None:
    """400 when the query holds a key ``allowed`` does not list."""
    unknown = _unknown(request.query.keys(), allowed)
    if unknown:
        verb = "was" if len(unknown) == 1 else "were"
        shown = ", ".join(repr(key) for key in unknown)
        raise nova_error(400, f"Additional properties are not allowed ({shown} {verb} unexpected)")


def refuse_unknown_server_filters(request: web.Request, allowed: frozenset[str]) -> None:
    """The server lists' variant: keys starting with ``_`` pass (``patternProperties``)."""
    unknown = [k for k in _unknown(request.query.keys(), allowed) if not k.startswith("_")]
    if unknown:
        verb = "does" if len(unknown) == 1 else "do"
        shown = ", ".join(repr(key) for key in unknown)
        raise nova_error(400, f"{shown} {verb} not match any of the regexes: '^_'")
