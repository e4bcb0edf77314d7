"""Finding clouds.yaml and secure.yaml, and reading one with the position of every key.

Where openstacksdk looks (``find_config_files``), and a YAML reader that keeps
``FILE:LINE:COL`` for every key path so that each message can point at what is wrong,
and that refuses documents whose aliases loop or expand without bound before building
them.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from bulkboot.errors import ConfigError

__all__ = [
    "SYSTEM_DIRS",
    "Document",
    "Positions",
    "find_config_files",
    "first_document",
    "normalize",
    "read_document",
]

SYSTEM_DIRS: Final[tuple[Path, ...]] = (Path("/etc/xdg/openstack"), Path("/etc/openstack"))
_SUFFIXES: Final = (".yaml", ".yml", ".json")


class Positions:
    """``FILE:LINE:COL`` of every key in a YAML document, by its key path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[tuple[str, ...], str] = {}

    def record(self, node: yaml.Node, prefix: tuple[str, ...] = ()) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = str(key_node.value)
                if prefix != ("clouds",):  # cloud names are kept as written
                    key = key.replace("-", "_")
                here = prefix + (key,)
                self._mark(here, key_node)
                self.record(value_node, here)
        elif isinstance(node, yaml.SequenceNode) and prefix[-1:] == ("regions",):
            # only a cloud's regions: other lists hold no settings (and may be aliases)
            for index, item in enumerate(node.value):
                here = prefix + (str(index),)
                self._mark(here, item)
                self.record(item, here)

    def _mark(self, keys: tuple[str, ...], node: yaml.Node) -> None:
        mark = node.start_mark
        self.marks[keys] = f"{self.path}:{mark.line + 1}:{mark.column + 1}"

    def at(self, keys: tuple[str, ...]) -> str:
        while keys:
            found = self.marks.get(keys)
            if found is not None:
                return found
            keys = keys[:-1]
        return self.path


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    data: dict[str, Any]
    positions: Positions


def read_document(path: Path) -> Document | None:
    """Parse one config file; None when it cannot be read (openstacksdk skips EACCES)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        if exc.errno == errno.EACCES:
            return None
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    positions = Positions(str(path))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, path)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a clouds.yaml") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is not None:
        positions.record(node)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise ConfigError(f"{path}: expected a mapping with a 'clouds' key, got {got}")
    return Document(str(path), normalize(data), positions)


_MAX_VALUES = 100_000  # a clouds.yaml holds hundreds; aliases can multiply them


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a document whose aliases make a loop (a mapping holding an alias of itself)
    or expand past ``_MAX_VALUES`` values ("billion laughs"): each setting is copied
    where it is used, and neither would ever finish."""
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    seen = 0
    while stack:
        node, done = stack.pop()
        if done:
            on_path.discard(id(node))
            continue
        seen += 1
        if seen > _MAX_VALUES:
            raise ConfigError(f"{path}: its aliases expand to over {_MAX_VALUES:,} values")
        if id(node) in on_path:
            mark = node.start_mark
            raise ConfigError(
                f"{path}:{mark.line + 1}:{mark.column + 1}: this value holds an alias of "
                "itself (a loop)"
            )
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


def normalize(data: Mapping[Any, Any], *, names: bool = False) -> dict[str, Any]:
    """Keys as openstacksdk reads them: ``-`` and ``_`` are the same (not in cloud names)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key) if names else str(key).replace("-", "_")
        if isinstance(value, Mapping):
            out[name] = normalize(value, names=name == "clouds" and not names)
        else:
            out[name] = value
    return out


def _search_dirs(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    dirs = [cwd]
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        dirs.append(Path(xdg) / "openstack")
    dirs.append(home / ".config" / "openstack")
    return dirs


def find_config_files(
    environ: Mapping[str, str],
    cwd: Path,
    *,
    system_dirs: Sequence[Path] = SYSTEM_DIRS,
) -> tuple[list[Path], list[Path]]:
    """The clouds.yaml and secure.yaml candidates, in the order they are tried."""
    dirs = _search_dirs(environ, cwd) + list(system_dirs)
    clouds = [d / f"clouds{s}" for d in dirs for s in _SUFFIXES]
    secure = [d / f"secure{s}" for d in dirs for s in _SUFFIXES]
    if environ.get("OS_CLIENT_CONFIG_FILE"):
        clouds.insert(0, Path(environ["OS_CLIENT_CONFIG_FILE"]))
    if environ.get("OS_CLIENT_SECURE_FILE"):
        secure.insert(0, Path(environ["OS_CLIENT_SECURE_FILE"]))
    return clouds, secure


def first_document(candidates: Sequence[Path]) -> Document | None:
    for path in candidates:
        if path.is_file():
            document = read_document(path)
            if document is not None:
                return document
    return None
