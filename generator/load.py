"""Stage "load": read a client file strictly, keeping the position of every node.

PyYAML alone would silently keep the last of two duplicate keys, turn `no` into `False` and lose
every line number once the data is built. Here the file is composed into nodes and walked by
hand, so each value keeps its `line:col` and every problem of the file is collected at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ClientFileError, Problem

Path_ = tuple[str | int, ...]

# libyaml's composer when PyYAML was built with it: the same nodes and marks, several times faster
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# a client file is a page of text; anything larger is a mistake or an attack
MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000  # bounds alias expansion ("billion laughs")
MAX_DEPTH = 32
FILL_IN = "FILL-IN"  # the marker `runbook new` writes where the consultant must type a value

# A key that names a credential: they are typed on site, never written down (DESIGN.md).
_SECRET_KEY = re.compile(
    r"(^|[_\-. ])(pass(word|wd|phrase)?|pwd|secret|token|key|credentials?|api_?key|pin)($|[_\-. ])",
    re.IGNORECASE,
)


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Mark:
    """Where a node starts: 1-based line and column."""

    line: int
    column: int


@dataclass
class Document:
    """A client file read into plain Python data, with the position of every node."""

    file: str
    data: dict[str, Any]
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)
    raw: dict[Path_, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def mark(self, path: Path_, *, key: bool = False) -> Mark:
        """The position of `path`, or of its nearest ancestor that exists."""
        table = self.keys if key else self.values
        for end in range(len(path), 0, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found:
                return found
        return self.values.get((), Mark(1, 1))

    def problem(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        """A problem at `path`, positioned at its value (or its key)."""
        where = self.mark(path, key=key)
        return Problem(self.file, where.line, where.column, dotted(path), message)


def dotted(path: Path_) -> str:
    """`("exchange", "servers", 0, "fqdn")` as `exchange.servers[0].fqdn`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            out += f"[{part!r}]"  # a key with odd characters is shown quoted, on one line
        else:
            out += f".{part}" if out else part
    return out


def load_document(path: Path, display: str | None = None) -> Document:
    """Read and compose `path`; raise `ClientFileError` if it is not a readable YAML mapping."""
    name = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClientFileError(
            [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    return parse_document(data, name)


def parse_document(data: bytes, name: str) -> Document:
    """Parse the bytes of a client file named `name`."""

    def fatal(line: int, column: int, message: str) -> ClientFileError:
        return ClientFileError([Problem(name, line, column, "", message)])

    if len(data) > MAX_BYTES:
        raise fatal(1, 1, f"the file is larger than {MAX_BYTES // 1024} KiB; is it a client file?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise fatal(
            line, column, f"byte 0x{data[exc.start]:02x} is not UTF-8; save as UTF-8"
        ) from None
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context = f" ({exc.context})" if exc.context else ""
        raise fatal(line, column, f"YAML syntax: {exc.problem}{context}") from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text.encode(), len(text[: exc.position].encode()))
        raise fatal(
            line, column, f"character {exc.character!r} is not allowed in a YAML file"
        ) from None
    except RecursionError:
        raise fatal(1, 1, "the document is nested too deeply") from None
    if root is None:
        raise fatal(1, 1, "the file is empty; run `runbook new SLUG` for a commented start")
    if not isinstance(root, yaml.MappingNode):
        line, column = root.start_mark.line + 1, root.start_mark.column + 1
        raise fatal(line, column, f"expected a mapping of fields at the top, found {_kind(root)}")
    doc = Document(name, {})
    walker = _Walker(doc)
    doc.data = walker.walk(root, ())
    return doc


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of a byte offset."""
    before = data[:offset]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return line, column


def _kind(node: yaml.Node) -> str:
    """How a node reads to a person: a mapping, a list or a single value."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a single value"


class _Walker:
    """Builds plain data from nodes, recording positions and loader-level problems."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        """The Python value of `node` at `path`."""
        self.count += 1
        if self.count > MAX_NODES or len(path) > MAX_DEPTH:
            raise ClientFileError([self.doc.problem(path, "the document is too large or too deep")])
        self.doc.values[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        self.doc.raw[path] = str(node.value)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.doc.problems.append(self.doc.problem(path, f"cannot read value: {exc.problem}"))
            return None
        except (ValueError, OverflowError) as exc:
            # e.g. `2026-13-01` matches YAML's date pattern but is no real date
            self.doc.problems.append(self.doc.problem(path, f"cannot read {node.value!r}: {exc}"))
            return None
        if isinstance(value, str) and FILL_IN in value:
            self.doc.problems.append(
                self.doc.problem(path, f"replace the {FILL_IN} marker with this client's value")
            )
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        """A mapping whose keys are unique text."""
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            mark = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else _kind(key_node)
                problem = Problem(
                    self.doc.file,
                    mark.line,
                    mark.column,
                    dotted(path),
                    f"key {shown!r} is not a field name (no merge keys or non-text keys)",
                )
                self.doc.problems.append(problem)
                continue
            key = str(key_node.value)
            here = (*path, key)
            if key in out:
                first = self.doc.keys[here]
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        mark.line,
                        mark.column,
                        dotted(here),
                        f"duplicate key; already given on line {first.line}",
                    )
                )
                continue
            self.doc.keys[here] = mark
            if _SECRET_KEY.search(key):
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        mark.line,
                        mark.column,
                        dotted(here),
                        "looks like a credential: passwords and other secrets are typed on site "
                        "when asked, never written into a client file; remove this key",
                    )
                )
                self.walk(value_node, here)
                continue
            out[key] = self.walk(value_node, here)
        return out
