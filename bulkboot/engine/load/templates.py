"""The servers a load run boots: the manifest's create requests, renamed per iteration.

Iteration ``k`` boots the ``k mod N``-th of the manifest's N create requests (in
manifest order, so a fleet of 3 web and 1 db servers is booted in that mix), with
the body the pipeline built for it (validated at the run's microversion, references
resolved), under the name ``<server name>-<run id>-<k>`` and with one more metadata
item, ``bulkboot:load-run: <run id>`` beside the fleet and spec marks: ``destroy`` finds the
run's servers by the fleet mark like any of the fleet's, and the run's own clean-up
finds them by the run mark, creates whose answer was lost included.

Each request's body is built once; an iteration's body is that body with its own
name (a dict copy). Values the manifest templates with ``{name}`` or ``{index}``
(a hostname, a description) keep the manifest server's rendering.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from bulkboot.cloud.compute import CreateRequest
from bulkboot.identity import MARK_ITEMS, OWN_MARKS
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Limits, Manifest, Problem, References, ServerSpec

__all__ = ["RUN_MARK_KEY", "Templates", "new_run_id", "template_problems"]

RUN_MARK_KEY: Final = "bulkboot:load-run"
RUN_ID_LENGTH: Final = 8
_INDEX_ROOM: Final = 11  # "-" and up to ten digits of the iteration number
_NAME_LIMIT: Final = 255  # Nova's server name


def new_run_id() -> str:
    """A fresh run id: eight hex digits, unique enough for one fleet's runs."""
    return secrets.token_hex(RUN_ID_LENGTH // 2)


def template_problems(manifest: Manifest) -> list[Problem]:
    """Why a manifest's servers cannot be a load run's iterations (none: they can).

    Checked offline, before anything is sent: a multi-create request boots several
    servers (an iteration boots one), a reservation-id answer names no server to
    watch, and the run mark must fit in the metadata and the run suffix in the name.
    """
    limits: Limits = manifest.limits
    problems: list[Problem] = []
    room = 1 + RUN_ID_LENGTH + _INDEX_ROOM
    for spec in manifest.servers:
        where, who = spec.location, spec.name
        if spec.instance_count > 1:
            problems.append(
                Problem(
                    where,
                    who,
                    f"a load iteration boots one server; this request asks for "
                    f"{spec.instance_count} (min_count/max_count): leave them out for load",
                )
            )
        if spec.return_reservation_id:
            problems.append(
                Problem(
                    where,
                    who,
                    "return_reservation_id: a load iteration needs the server's id to "
                    "watch it; leave it out for load",
                )
            )
        if len(spec.metadata) + MARK_ITEMS + 1 > limits.max_server_meta:
            problems.append(
                Problem(
                    where,
                    who,
                    f"metadata has {len(spec.metadata)} items; with the "
                    f"{', '.join(sorted(OWN_MARKS))} and {RUN_MARK_KEY} marks that is more "
                    f"than the {limits.max_server_meta} Nova allows (limits.max_server_meta)",
                )
            )
        if len(spec.name) + room > _NAME_LIMIT:
            problems.append(
                Problem(
                    where,
                    who,
                    f"the name is too long for a load run's suffix (-<run id>-<iteration>): "
                    f"at most {_NAME_LIMIT - room} characters",
                )
            )
    return problems


class Templates:
    """The run's create requests, one per iteration (``request``)."""

    __slots__ = ("_bodies", "_count", "_fleet", "run_id", "specs")

    def __init__(
        self,
        specs: Sequence[ServerSpec],
        refs: References,
        microversion: Microversion,
        *,
        fleet: str,
        run_id: str,
    ) -> None:
        if not specs:
            raise ValueError("a load run needs at least one server in the manifest")
        self.specs = tuple(specs)
        self.run_id = run_id
        self._fleet = fleet
        build = BodyBuilder(refs, microversion).build
        bodies: list[tuple[str, dict[str, Any], Mapping[str, Any] | None, tuple[str, ...]]] = []
        for spec in specs:
            body = build(spec)
            server = dict(body["server"])
            server["metadata"] = {**server["metadata"], RUN_MARK_KEY: run_id}
            extra = {k: v for k, v in body.items() if k != "server"} or None
            hidden = (spec.admin_pass,) if spec.admin_pass else ()
            bodies.append((f"{spec.name}-{run_id}-", server, extra, hidden))
        self._bodies = bodies
        self._count = len(bodies)

    def request(self, index: int, on_attempt: Callable[[str], None] | None = None) -> CreateRequest:
        """Iteration ``index``'s create: its own name, the shared rest of its body;
        ``on_attempt`` is told of every send after the first (see ``CreateRequest``)."""
        prefix, server, extra, hidden = self._bodies[index % self._count]
        name = prefix + str(index)
        body: dict[str, Any] = {"server": {**server, "name": name}}
        if extra is not None:
            body.update(extra)
        return CreateRequest(
            body=body, name=name, fleet=self._fleet, secrets=hidden, on_attempt=on_attempt
        )

    def flavors_and_images(self, refs: References) -> dict[str, list[str]]:
        """The flavor and image IDs the run boots (for the report)."""
        flavors = sorted({refs.flavor(s.flavor) for s in self.specs if s.flavor})
        images = sorted({refs.image(s.image) for s in self.specs if s.image})
        return {"flavors": flavors, "images": images}
