"""One-call body builders for tests: thin functions over ``BodyBuilder``, no cache.

Production builds through a ``BodyBuilder`` it keeps for the run (the engine) or
through ``build_requests`` (``plan``); tests mostly want one body for one spec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bulkboot.gcpause import gc_paused
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import References, ServerSpec

__all__ = ["build_bodies", "build_body", "build_request"]


def build_body(spec: ServerSpec, refs: References, microversion: Microversion) -> dict[str, Any]:
    """The POST /servers body for ``spec`` (fleet mark included), from a fresh builder."""
    return BodyBuilder(refs, microversion).build(spec)


def build_bodies(
    specs: Iterable[ServerSpec], refs: References, microversion: Microversion
) -> list[dict[str, Any]]:
    """The bodies of many specs from one builder, the cyclic collector paused."""
    build = BodyBuilder(refs, microversion).build
    with gc_paused():
        return [build(spec) for spec in specs]


def build_request(spec: ServerSpec, refs: References, microversion: Microversion) -> dict[str, Any]:
    """``{"name", "method", "path", "body"}``: one create request, as ``plan`` shows it."""
    return {
        "name": spec.name,
        "method": "POST",
        "path": "/servers",
        "body": build_body(spec, refs, microversion),
    }
