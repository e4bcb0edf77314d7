"""The manifest's ``load:`` mapping -> ``LoadSection``, every problem at its FILE:LINE:COL.

    load:
      scenario: boot-delete          # boot | boot-delete | boot-list-delete
      rate: 2                        # open loop, iterations/s; or concurrency: 10
      max_in_flight: 200
      stages: 30s:1,60s:5,30s:0      # or a list of {duration: 30s, target: 5}
      duration: 5m                   # or iterations: 100 (both: whichever comes first)
      poll_interval: 500ms
      late_after: 10ms
      timeout: 10m
      thresholds: ["p95(post)<2s", "rate(failed)<1%"]
      abort_on_fail: true
      min_samples: 20
      keep: false
      find_capacity: {start: 1, factor: 1.5, step: 60s, max_steps: 10, margin: 5%}  # or true

Only what can be told from the section alone is checked here (types, ranges, the
expressions' grammar, two models at once); how the section and the command line's
flags combine is ``bulkboot.engine.load.plan``'s business, which points back at these
locations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulkboot.pipeline.durations import parse_seconds
from bulkboot.pipeline.load_spec import (
    LOAD_KEYS,
    SCENARIOS,
    CapacitySearch,
    LoadSection,
    Stage,
    Threshold,
    parse_share,
    parse_stages,
    parse_threshold,
)
from bulkboot.pipeline.spec import Location
from bulkboot.pipeline.yaml_nodes import (
    CONSTRUCTOR,
    TAG_BOOL,
    TAG_FLOAT,
    TAG_INT,
    TAG_NULL,
    TAG_STR,
    Reader,
    kind,
    known_keys,
    pairs,
    suggest,
)

__all__ = ["read_load_section"]

T = TypeVar("T")
_CAPACITY_KEYS = ("start", "factor", "step", "max_steps", "margin")


class _Bad(Exception):
    """A value had a problem (already reported): the key is left out."""


def read_load_section(reader: Reader, node: Node) -> LoadSection:
    """Read ``load:``; problems go to ``reader`` (the keys that had one are left out)."""
    reader.subject = "load"
    if isinstance(node, ScalarNode) and node.tag == TAG_NULL:
        return LoadSection()
    if not isinstance(node, MappingNode):
        reader.problem(node, f"load: expected a mapping of load-test settings, got {kind(node)}")
        return LoadSection()
    found = pairs(reader, node, "load")
    known_keys(reader, found, LOAD_KEYS, "load")
    values: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    for key, (_, value_node) in found.items():
        read = _READERS.get(key)
        if read is None:
            continue
        locations[key] = reader.loc(value_node)
        try:
            values[key] = read(reader, value_node, key, locations)
        except _Bad:
            continue
    if "rate" in values and "concurrency" in values:
        later = max(
            (found[k][0] for k in ("rate", "concurrency")), key=lambda n: n.start_mark.index
        )
        reader.problem(
            later,
            "load: give either rate (an open loop: iterations started per second) or "
            "concurrency (a closed loop: workers), not both",
        )
        del values["rate"], values["concurrency"]
    return LoadSection(**values, locations=locations)


# ----------------------------------------------------------------- scalars


def _scalar_text(reader: Reader, node: Node, path: str) -> str:
    if isinstance(node, ScalarNode) and node.tag in (TAG_STR, TAG_INT, TAG_FLOAT):
        return str(node.value)
    reader.problem(node, f"load.{path}: expected a string, got {kind(node)}")
    raise _Bad


def _parsed(reader: Reader, node: Node, path: str, parse: Callable[[str], T]) -> T:
    text = _scalar_text(reader, node, path)
    try:
        return parse(text)
    except ValueError as exc:
        reader.problem(node, f"load.{path}: {exc}")
        raise _Bad from None


def _number(reader: Reader, node: Node, path: str) -> float:
    if isinstance(node, ScalarNode) and node.tag in (TAG_INT, TAG_FLOAT):
        if node.tag == TAG_INT:
            value = float(CONSTRUCTOR.construct_yaml_int(node))
        else:
            value = float(CONSTRUCTOR.construct_yaml_float(node))
        if math.isfinite(value):
            return value
    shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
    reader.problem(node, f"load.{path}: expected a number, got {kind(node)}{shown}")
    raise _Bad


def _whole(reader: Reader, node: Node, path: str, *, least: int) -> int:
    if isinstance(node, ScalarNode) and node.tag == TAG_INT:
        value = int(CONSTRUCTOR.construct_yaml_int(node))
        if value >= least:
            return value
        reader.problem(node, f"load.{path}: must be at least {least}, got {value}")
        raise _Bad
    shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
    reader.problem(node, f"load.{path}: expected a whole number, got {kind(node)}{shown}")
    raise _Bad


def _duration(reader: Reader, node: Node, path: str) -> float:
    if isinstance(node, ScalarNode) and node.tag in (TAG_INT, TAG_FLOAT):
        value = _number(reader, node, path)
        if value > 0:
            return value
        reader.problem(node, f"load.{path}: a duration must be more than zero")
        raise _Bad
    return _parsed(reader, node, path, parse_seconds)


def _flag(reader: Reader, node: Node, path: str) -> bool:
    if isinstance(node, ScalarNode) and node.tag == TAG_BOOL:
        return bool(CONSTRUCTOR.construct_yaml_bool(node))
    reader.problem(node, f"load.{path}: expected true or false, got {kind(node)}")
    raise _Bad


# ----------------------------------------------------------------- the keys


def _scenario(reader: Reader, node: Node, path: str, _: dict[str, Location]) -> str:
    text = _scalar_text(reader, node, path)
    if text not in SCENARIOS:
        reader.problem(
            node,
            f"load.scenario: unknown scenario {text!r}{suggest(text, SCENARIOS)} "
            f"(scenarios: {', '.join(SCENARIOS)})",
        )
        raise _Bad
    return text


def _rate(reader: Reader, node: Node, path: str, _: dict[str, Location]) -> float:
    value = _number(reader, node, path)
    if value > 0:
        return value
    reader.problem(node, f"load.{path}: iterations per second must be more than 0, got {value:g}")
    raise _Bad


def _at_least_one(reader: Reader, node: Node, path: str, _: dict[str, Location]) -> int:
    return _whole(reader, node, path, least=1)


def _seconds(reader: Reader, node: Node, path: str, _: dict[str, Location]) -> float:
    return _duration(reader, node, path)


def _boolean(reader: Reader, node: Node, path: str, _: dict[str, Location]) -> bool:
    return _flag(reader, node, path)


def _stages(
    reader: Reader, node: Node, path: str, locations: dict[str, Location]
) -> tuple[Stage, ...]:
    if not isinstance(node, SequenceNode):
        written = _parsed(reader, node, path, parse_stages)
        if not written:
            reader.problem(node, "load.stages: give at least one stage")
            raise _Bad
        return written
    if not node.value:
        reader.problem(node, "load.stages: give at least one stage")
        raise _Bad
    stages: list[Stage] = []
    bad = False
    for number, item in enumerate(node.value):
        where = f"stages.{number}"
        locations[where] = reader.loc(item)
        if not isinstance(item, MappingNode):
            reader.problem(
                item,
                f"load.{where}: expected a mapping {{duration: 30s, target: 5}}, got {kind(item)}",
            )
            bad = True
            continue
        found = pairs(reader, item, f"load.{where}")
        known_keys(reader, found, ("duration", "target"), f"load.{where}")
        missing = [k for k in ("duration", "target") if k not in found]
        if missing:
            reader.problem(item, f"load.{where}: {' and '.join(missing)} missing")
            bad = True
            continue
        try:
            seconds = _duration(reader, found["duration"][1], f"{where}.duration")
            target = _number(reader, found["target"][1], f"{where}.target")
        except _Bad:
            bad = True
            continue
        if target < 0:
            reader.problem(found["target"][1], f"load.{where}.target: must be 0 or more")
            bad = True
            continue
        stages.append(Stage(duration=seconds, target=target))
    if bad:
        raise _Bad
    return tuple(stages)


def _thresholds(
    reader: Reader, node: Node, path: str, locations: dict[str, Location]
) -> tuple[Threshold, ...]:
    items = node.value if isinstance(node, SequenceNode) else [node]
    if isinstance(node, SequenceNode) and not items:
        return ()
    parsed: list[Threshold] = []
    bad = False
    for number, item in enumerate(items):
        where = f"thresholds.{number}"
        locations[where] = reader.loc(item)
        try:
            parsed.append(_parsed(reader, item, where, parse_threshold))
        except _Bad:
            bad = True
    if bad:
        raise _Bad
    return tuple(parsed)


def _capacity(
    reader: Reader, node: Node, path: str, locations: dict[str, Location]
) -> CapacitySearch | None:
    if isinstance(node, ScalarNode) and node.tag == TAG_BOOL:
        return CapacitySearch() if CONSTRUCTOR.construct_yaml_bool(node) else None
    if not isinstance(node, MappingNode):
        reader.problem(
            node,
            f"load.find_capacity: expected true, false or a mapping of "
            f"{', '.join(_CAPACITY_KEYS)}, got {kind(node)}",
        )
        raise _Bad
    found = pairs(reader, node, "load.find_capacity")
    known_keys(reader, found, _CAPACITY_KEYS, "load.find_capacity")
    values: dict[str, Any] = {}
    bad = False
    for key, (_, value_node) in found.items():
        where = f"find_capacity.{key}"
        locations[where] = reader.loc(value_node)
        try:
            if key == "start":
                values[key] = _rate(reader, value_node, where, locations)
            elif key == "factor":
                factor = _number(reader, value_node, where)
                if not factor > 1:
                    reader.problem(value_node, f"load.{where}: must be more than 1, got {factor:g}")
                    raise _Bad
                values[key] = factor
            elif key == "step":
                values[key] = _duration(reader, value_node, where)
            elif key == "max_steps":
                values[key] = _whole(reader, value_node, where, least=1)
            elif key == "margin":
                values[key] = _parsed(reader, value_node, where, parse_share)
        except _Bad:
            bad = True
    if bad:
        raise _Bad
    return CapacitySearch(**values)


_Read = Callable[[Reader, Node, str, dict[str, Location]], Any]
_READERS: dict[str, _Read] = {
    "scenario": _scenario,
    "rate": _rate,
    "concurrency": _at_least_one,
    "max_in_flight": _at_least_one,
    "stages": _stages,
    "duration": _seconds,
    "iterations": _at_least_one,
    "poll_interval": _seconds,
    "late_after": _seconds,
    "timeout": _seconds,
    "thresholds": _thresholds,
    "abort_on_fail": _boolean,
    "min_samples": _at_least_one,
    "keep": _boolean,
    "find_capacity": _capacity,
}
