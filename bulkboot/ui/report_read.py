"""Reading a saved report: one clear message for anything that is not one bulkboot can
draw, and older schema versions read as they are.

Versions (docs/reports.md): 1 is what bulkboot wrote before ``schema_version`` existed
(no such key; an apply report with ``summary``, ``servers`` and maybe ``requests``); 2
adds the version, ``kind``, ``tool``, the run's UTC start and end, command line, region
and manifest hash, ``request_counts`` and the sampled ``series``. A renderer reads a
version 1 report with those parts missing and says so on the page; a version newer than
this bulkboot's is refused (its meaning may have changed), as is a truncated file. A
``load`` report of version 1 (``bulkboot load`` before it shared the header) kept its
start, end, manifest and cloud at the top level: they are read into ``run``.

What is checked here is the shape every renderer relies on (objects, lists, numbers
where the page draws numbers); a value of the wrong type deeper down is shown as "-".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bulkboot import __version__
from bulkboot.errors import UsageError
from bulkboot.ui.report import SCHEMA_VERSION

__all__ = ["KINDS", "ReportError", "parse_report", "read_report"]

KINDS = ("apply", "destroy", "load")


class ReportError(UsageError):
    """A file given to ``bulkboot report`` is not a report it can read (exit 2)."""


def read_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The report at ``path``, checked (see the module docstring)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReportError(f"{source}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError(f"{source}: not a bulkboot report (not UTF-8 text)") from None
    if not text.strip():
        raise ReportError(f"{source}: the file is empty (a report cut short?)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # the text ran out: at its end, or inside a string (only the end stops one)
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise ReportError(
                f"{source}: truncated: the JSON ends at line {exc.lineno}, column {exc.colno} "
                "before the document is complete (copied or written while the run was "
                "stopped?)"
            ) from None
        raise ReportError(
            f"{source}:{exc.lineno}:{exc.colno}: not a bulkboot report (not JSON: {exc.msg})"
        ) from None
    except RecursionError:
        raise ReportError(f"{source}: not a bulkboot report (nested too deep)") from None
    return parse_report(document, source=source)


def parse_report(document: Any, *, source: str) -> dict[str, Any]:
    """``document`` as a report of a known kind and version, with ``schema_version``
    and ``kind`` filled in for a version 1 report."""
    if not isinstance(document, dict):
        raise ReportError(f"{source}: not a bulkboot report (not a JSON object)")
    version = document.get("schema_version")
    summary = document.get("summary")
    if version is None:
        if isinstance(summary, dict) and "command" in summary:
            version = 1
        elif document.get("kind") == "load":
            version = 1
        else:
            raise ReportError(
                f"{source}: not a bulkboot report (no schema_version, summary or kind)"
            )
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ReportError(
            f"{source}: not a bulkboot report (schema_version {version!r} is not a version "
            "bulkboot writes)"
        )
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{source}: schema_version {version} is newer than this bulkboot "
            f"({__version__}) reads (up to {SCHEMA_VERSION}): read it with a newer bulkboot"
        )
    kind = document.get("kind")
    if kind is None and isinstance(summary, dict):
        kind = summary.get("command")
    if kind not in KINDS:
        raise ReportError(
            f"{source}: not a report bulkboot can render (kind {kind!r}; "
            f"expected one of {', '.join(KINDS)})"
        )
    checked = dict(document)
    checked["schema_version"] = version
    checked["kind"] = kind
    if kind == "load":
        _check_load(checked, source)
        if version == 1 and "run" not in checked:
            checked["run"] = _load_v1_header(checked)
    else:
        _check_run(checked, source)
    return checked


def _expect(
    document: Mapping[str, Any], key: str, kind: type, source: str, *, required: bool
) -> Any:
    """``document[key]`` when it is a ``kind``; an error when it is something else (or
    missing and required)."""
    value = document.get(key)
    if value is None:
        if required:
            raise ReportError(f"{source}: not a complete bulkboot report (no {key!r})")
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        noun = {dict: "an object", list: "a list", int: "a number"}.get(kind, kind.__name__)
        raise ReportError(f"{source}: {key!r} should be {noun}, not {type(value).__name__}")
    return value


def _check_run(document: dict[str, Any], source: str) -> None:
    summary = _expect(document, "summary", dict, source, required=True)
    counts = _expect(summary, "counts", dict, f"{source}: summary", required=True)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
        raise ReportError(f"{source}: summary.counts should hold whole numbers")
    _expect(summary, "failures", list, f"{source}: summary", required=False)
    servers = _expect(document, "servers", list, source, required=True)
    _all_objects(servers, "servers", source)
    _timings(servers, "servers", source, _is_seconds)
    requests = _expect(document, "requests", list, source, required=False)
    if requests is not None:
        _all_objects(requests, "requests", source)
        _timings(requests, "requests", source, _is_seconds)
    _expect(document, "run", dict, source, required=False)
    series = _expect(document, "series", dict, source, required=False)
    if series is not None:
        times = _expect(series, "t", list, f"{source}: series", required=True)
        columns = _expect(series, "columns", dict, f"{source}: series", required=True)
        for name, column in columns.items():
            if not isinstance(column, list) or len(column) != len(times):
                raise ReportError(
                    f"{source}: series.columns.{name} should be a list as long as series.t"
                )


def _check_load(document: dict[str, Any], source: str) -> None:
    _expect(document, "iterations", dict, source, required=True)
    _expect(document, "rate", dict, source, required=False)
    phases = _expect(document, "phases", dict, source, required=True)
    for name, aggregates in phases.items():
        if not isinstance(aggregates, dict):
            raise ReportError(f"{source}: phases.{name} should be an object")
    _expect(document, "thresholds", list, source, required=False)
    samples = _expect(document, "samples", list, source, required=False)
    if samples is not None:
        _all_objects(samples, "samples", source)
        _timings(samples, "samples", source, {"intended", "started", "ended"}.__contains__)
        for index, sample in enumerate(samples):
            timed = sample.get("phases")
            if timed is not None and not isinstance(timed, dict):
                raise ReportError(f"{source}: samples[{index}].phases should be an object")
            if timed:
                _timings([timed], f"samples[{index}].phases", source, _any_field, whole=True)
    _expect(document, "requests", dict, source, required=False)
    _expect(document, "run", dict, source, required=False)


def _load_v1_header(document: Mapping[str, Any]) -> dict[str, Any]:
    """A version 1 load report's header, where version 2 keeps it (``run``)."""
    cloud = document.get("cloud")
    cloud = cloud if isinstance(cloud, Mapping) else {}
    run: dict[str, Any] = {
        key: document[key] for key in ("started_at", "ended_at") if key in document
    }
    for key in ("endpoint", "microversion", "region"):
        if key in cloud:
            run[key] = cloud[key]
    if "name" in cloud:
        run["cloud"] = cloud["name"]
    if isinstance(document.get("manifest"), Mapping):
        run["manifest"] = document["manifest"]
    return run


def _all_objects(items: list[Any], key: str, source: str) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReportError(f"{source}: {key}[{index}] should be an object")


def _is_seconds(field: str) -> bool:
    return field.endswith("_seconds")


def _any_field(_: str) -> bool:
    return True


def _timings(
    items: list[dict[str, Any]],
    key: str,
    source: str,
    is_timing: Callable[[str], bool],
    *,
    whole: bool = False,
) -> None:
    """Every timing of ``items`` (the fields ``is_timing`` names) a number or null: a
    chart or a percentile drawn from text would be a number the run never measured.
    ``whole``: ``key`` names the one item itself (no index)."""
    for index, item in enumerate(items):
        for field, value in item.items():
            if (
                value is not None
                and is_timing(field)
                and (isinstance(value, bool) or not isinstance(value, (int, float)))
            ):
                where = key if whole else f"{key}[{index}]"
                raise ReportError(
                    f"{source}: {where}.{field} should be a number of seconds or null, "
                    f"not {value!r:.40}"
                )
