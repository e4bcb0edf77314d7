"""YAML nodes and their positions: parsing, mappings as written, and the local files read.

The manifest is composed into nodes (never constructed into Python objects first), so
every value keeps its file, line and column. ``Reader`` is the state of reading one
manifest: the problems found so far, each placed at its node, the positions of the
values of the group being read, and the local files it names, read once per path. This
module holds the reader's only file I/O (``read_regular``).
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulkboot.pipeline.spec import Location, Problem

__all__ = [
    "CONSTRUCTOR",
    "MAX_FILE_BYTES",
    "MAX_FILES_BYTES",
    "TAG_BOOL",
    "TAG_FLOAT",
    "TAG_INT",
    "TAG_NULL",
    "TAG_STR",
    "TAG_TIMESTAMP",
    "Reader",
    "compose",
    "kind",
    "known_keys",
    "pairs",
    "read_regular",
    "suggest",
]

MAX_FILE_BYTES: Final = 16 * 1024 * 1024  # user data and personality are limited to KiBs
# Every file one manifest names, read (a templated `user_data: "cloud-init/{name}"`
# reads one per server): kept in memory until the bodies are built, so bounded.
MAX_FILES_BYTES: Final = 256 * 1024 * 1024

TAG_STR: Final = "tag:yaml.org,2002:str"
TAG_INT: Final = "tag:yaml.org,2002:int"
TAG_FLOAT: Final = "tag:yaml.org,2002:float"
TAG_BOOL: Final = "tag:yaml.org,2002:bool"
TAG_NULL: Final = "tag:yaml.org,2002:null"
TAG_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
CONSTRUCTOR: Final = SafeConstructor()

_KINDS: Final = {
    TAG_STR: "a string",
    TAG_INT: "an integer",
    TAG_FLOAT: "a number",
    TAG_BOOL: "a boolean",
    TAG_NULL: "nothing (null)",
    TAG_TIMESTAMP: "a date",
}


class Reader:
    """Per-manifest state: where problems go, locations of the group being read, files."""

    def __init__(self, file: str, base: Path) -> None:
        self.file = file
        self.base = base
        self.problems: list[Problem] = []
        self.subject = "manifest"
        self.locations: dict[str, Location] = {}
        self.files: dict[Path, bytes | str] = {}  # contents, or the error text
        self.files_bytes = 0  # read so far (MAX_FILES_BYTES)

    def loc(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def problem(self, where: Node | Location | None, message: str) -> None:
        location = self.loc(where) if isinstance(where, Node) else where
        self.problems.append(Problem(location, self.subject, message))

    def read_file(self, written: str, where: Location | None, what: str) -> bytes | None:
        """Read a file named relative to the manifest, once per path; None on error."""
        path = self.base / os.path.expanduser(written)
        contents = self.files.get(path)
        if contents is None:
            if self.files_bytes > MAX_FILES_BYTES:
                return None  # said once; no more files are read
            contents = read_regular(path, MAX_FILE_BYTES)
            if isinstance(contents, bytes):
                self.files_bytes += len(contents)
                if self.files_bytes > MAX_FILES_BYTES:
                    self.files.clear()  # what they held is not going to be sent
                    self.problems.append(
                        Problem(
                            where,
                            self.subject,
                            f"{what}: the files this manifest names add up to more than "
                            f"{MAX_FILES_BYTES // (1024 * 1024)} MiB (a file per server, "
                            "from a template?): bulkboot reads at most that much",
                        )
                    )
                    return None
            self.files[path] = contents
        if isinstance(contents, str):
            self.problems.append(
                Problem(where, self.subject, f"{what}: cannot read {path}: {contents}")
            )
            return None
        return contents


def read_regular(path: Path, limit: int) -> bytes | str:
    """A regular file's bytes, or why not: never blocks on a FIFO or reads /dev/zero."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return os.strerror(errno.EISDIR)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > limit:
            return f"larger than {limit // (1024 * 1024)} MiB"
        return path.read_bytes()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    except ValueError as exc:  # e.g. an embedded NUL in the path
        return str(exc)


def compose(reader: Reader, data: bytes) -> Node | None:
    """The document's root node; None (with the problem reported) if it does not parse."""
    try:
        return yaml.compose(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(reader.file, mark.line + 1, mark.column + 1) if mark else None
        context = f"{exc.context}: " if exc.context else ""
        reader.problem(where, f"YAML syntax error: {context}{exc.problem}")
    except yaml.reader.ReaderError as exc:
        line = data[: exc.position].count(b"\n") + 1
        reader.problem(Location(reader.file, line, 1), f"not a YAML text file: {exc.reason}")
    except yaml.YAMLError as exc:
        reader.problem(None, f"YAML error: {exc}")
    except RecursionError:
        reader.problem(None, "the YAML is nested too deeply")
    return None


def kind(node: Node) -> str:
    """What a node holds, in words, for messages: "a list", "an integer" ..."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return _KINDS.get(node.tag, f"a value tagged {node.tag}")


def suggest(key: str, known: Iterable[str]) -> str:
    """``: did you mean 'flavor'?`` for a key close to a known one, else nothing."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f": did you mean {close[0]!r}?" if close else ""


def pairs(reader: Reader, node: MappingNode, what: str) -> dict[str, tuple[Node, Node]]:
    """A mapping's entries by key text, merge keys applied, duplicates reported."""
    try:
        CONSTRUCTOR.flatten_mapping(node)
    except ConstructorError as exc:
        reader.problem(node, f"{what}: {exc.problem}")
    out: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag in (TAG_NULL, TAG_BOOL):
            reader.problem(key_node, f"{what}: keys must be strings, got {kind(key_node)}")
            continue
        key = str(key_node.value)
        if key in out:
            first = out[key][0].start_mark.line + 1
            reader.problem(key_node, f"{what}: {key!r} is given twice (first at line {first})")
        out[key] = (key_node, value_node)
    return out


def known_keys(
    reader: Reader, found: Mapping[str, tuple[Node, Node]], known: Sequence[str], what: str
) -> None:
    """Report every key of ``found`` that is not ``known``, with a suggestion."""
    for key, (key_node, _) in found.items():
        if key not in known:
            reader.problem(key_node, f"unknown key {key!r} in {what}{suggest(key, known)}")
