"""What a run keeps for its report (``--report FILE.json``, ``--html FILE.html``), and
writing it: apply, destroy and load share this.

A run that asks for neither keeps nothing: no request timings, no sampler. One that
asks keeps every request's timing (``on_request``), samples its board
(``sampled``), and at the end adds the run's header (UTC start and end, the command
line with secrets masked, region, the manifest's hash) and the series to the results
document before writing the JSON and/or the page. A load run keeps its own tallies
(``timings=False``: no per-request list, no board to sample) and completes its
document whether or not a file is asked for, since ``--format json`` prints it whole.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulkboot.commands._sampling import sampled
from bulkboot.ui.report import write_report
from bulkboot.ui.run_info import masked_command_line, masked_url, run_info
from bulkboot.ui.series import SeriesSampler

if TYPE_CHECKING:
    from bulkboot.cloud.config import CloudConfig
    from bulkboot.cloud.timing import RequestTiming
    from bulkboot.engine.board import Board

__all__ = ["RunRecord", "config_secrets", "manifest_sha256"]


def manifest_sha256(path: str) -> str | None:
    """The SHA-256 of the manifest file's bytes (files it names are not included);
    None when it cannot be read any more."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def config_secrets(config: CloudConfig) -> list[str]:
    """The cloud's secrets, to mask wherever they might show up."""
    found = (config.password, config.application_credential_secret, config.token)
    return [s for s in found if s]


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """A run's report in the making; ``wanted`` False: nothing kept, nothing written."""

    json_path: str | None
    html_path: str | None
    started: datetime
    requests: list[RequestTiming] | None
    sampler: SeriesSampler | None

    @classmethod
    def start(
        cls, args: argparse.Namespace, *, now: datetime | None = None, timings: bool = True
    ) -> RunRecord:
        """``timings``: keep every request's timing and sample the board when a file
        is asked for (a load run counts its own: False)."""
        json_path = getattr(args, "report", None)
        html_path = getattr(args, "html", None)
        keep = bool(json_path or html_path) and timings
        return cls(
            json_path=json_path,
            html_path=html_path,
            started=now or datetime.now(timezone.utc),
            requests=[] if keep else None,
            sampler=SeriesSampler() if keep else None,
        )

    @property
    def wanted(self) -> bool:
        """Whether a file is to be written (``--report``, ``--html``)."""
        return bool(self.json_path or self.html_path)

    @property
    def on_request(self) -> Callable[[RequestTiming], None] | None:
        return self.requests.append if self.requests is not None else None

    @asynccontextmanager
    async def sampled(
        self,
        board: Board,
        *,
        clock: Callable[[], float],
        window: Callable[[], int] | None = None,
    ) -> AsyncIterator[None]:
        """Sample ``board`` (and the create window) while the body runs."""
        async with sampled(board, self.sampler, clock=clock, window=window):
            yield

    def write(
        self,
        document: dict[str, Any],
        *,
        args: argparse.Namespace,
        config: CloudConfig,
        secrets: Iterable[str] = (),
        now: datetime | None = None,
    ) -> None:
        """Complete ``document`` with the run's header and series; write what was asked."""
        if not self.wanted:
            return
        self.complete(document, args=args, config=config, secrets=secrets, now=now)
        self.write_files(document)

    def complete(
        self,
        document: dict[str, Any],
        *,
        args: argparse.Namespace,
        config: CloudConfig,
        secrets: Iterable[str] = (),
        now: datetime | None = None,
    ) -> None:
        """Add the run's header (``started`` to ``now``, the masked command line, the
        region, the manifest's hash) and the sampled series to ``document``."""
        run = document.setdefault("run", {})
        command_line = getattr(args, "command_line", None) or ["bulkboot", str(args.command)]
        run.update(
            run_info(
                started=self.started,
                ended=now or datetime.now(timezone.utc),
                command_line=masked_command_line(command_line, [*config_secrets(config), *secrets]),
                region=config.region_name,
                manifest_path=args.file,
                manifest_sha256=manifest_sha256(args.file),
            )
        )
        if "endpoint" in run:
            run["endpoint"] = masked_url(run["endpoint"])
        if self.sampler is not None:
            document["series"] = self.sampler.document()

    def write_files(self, document: dict[str, Any]) -> None:
        """Write the JSON and/or the page, each atomically to a regular file (a failure
        is an ``OutputError``: exit 1, the run's work done and journaled)."""
        if self.json_path:
            write_report(self.json_path, document)
        if self.html_path:
            from bulkboot.ui.html import render_report, write_html

            write_html(
                self.html_path,
                render_report(document, source=self.json_path or "this run (no JSON kept)"),
            )
