"""Stage "load": read a client file strictly, keeping the position of every node.

PyYAML alone would silently keep the last of two duplicate keys, turn `no` into `False` and lose
every line number once the data is built. Here the file is composed into nodes and walked by
hand, so each value keeps its `line:col` and every problem of the file is collected at once.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Mark:
    """Where a node starts: 1-based line and column."""

    line: int
    column: int


class YamlMark(Protocol):
    """Where YAML says a node starts: 0-based line and column (the composer's own mark)."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


@dataclass
class Document:
    """A client file read into plain Python data, with the position of every node."""

    file: str
    data: dict[str, Any]
    # the composer's marks, kept as they are and made a `Mark` only for a problem (`mark`):
    # a file has a hundred nodes and keys, and nearly every file has no problem
    values: dict[Path_, YamlMark] = field(default_factory=dict)
    keys: dict[Path_, YamlMark] = field(default_factory=dict)
    raw: dict[Path_, str] = field(default_factory=dict)
    quoted: set[Path_] = field(default_factory=set)  # values written in quotes
    problems: list[Problem] = field(default_factory=list)
    # FILL-IN markers: problems unless the file is a draft (`draft: true`)
    markers: list[Problem] = field(default_factory=list)
    # plain values YAML 1.1 reads otherwise than YAML 1.2 and the schema (yes, 0777, 1:00)
    traps: dict[Path_, str] = field(default_factory=dict)

    @property
    def draft(self) -> bool:
        """Whether the file says `draft: true`: validated, never published."""
        return self.data.get("draft") is True

    def mark(self, path: Path_, *, key: bool = False) -> Mark:
        """The position of `path`, or of its nearest ancestor that exists."""
        table = self.keys if key else self.values
        for end in range(len(path), 0, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found:
                return Mark(found.line + 1, found.column + 1)
        top = self.values.get(())
        return Mark(top.line + 1, top.column + 1) if top else Mark(1, 1)

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
    return parse_document(read_source(path, name), name)


def read_source(path: Path, name: str) -> bytes:
    """The bytes of the client file `path` (shown as `name`), or `ClientFileError` if it is
    not one to read: a link out of its folder, not a regular file, too large, unreadable."""
    refused = _outside_its_folder(path)
    if refused:
        raise ClientFileError([Problem(name, 1, 1, "", refused)])
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a pipe or device would block or never end
            raise ClientFileError([Problem(name, 1, 1, "", "is not a regular file")])
        with path.open("rb") as handle:
            # the size is known before anything is read: a huge (or sparse) file is refused at once
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise ClientFileError([Problem(name, 1, 1, "", _TOO_LARGE)])
            # what it holds, with a byte more to notice growth (a buffer of MAX_BYTES for each
            # small file doubles the cost of reading it); bounded even if the file grows meanwhile
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(MAX_BYTES + 1 - len(data))
            return data
    except OSError as exc:
        raise ClientFileError(
            [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None


def _outside_its_folder(path: Path) -> str | None:
    """Why a client file that is a link to somewhere outside its folder is refused, or None."""
    try:
        if not path.is_symlink():
            return None
        target = path.resolve(strict=True)
        folder = path.parent.resolve(strict=True)
    except (OSError, RuntimeError):
        return "is a broken or looping link; put the client file itself in this folder"
    if target.is_relative_to(folder):
        return None
    return (
        "is a link to a file outside its folder; client files are read only from the folder "
        "itself: copy the file here instead of linking to it"
    )


_TOO_LARGE = f"the file is larger than {MAX_BYTES // 1024} KiB; is it a client file?"


def parse_document(data: bytes, name: str) -> Document:
    """Parse the bytes of a client file named `name`."""

    def fatal(line: int, column: int, message: str) -> ClientFileError:
        return ClientFileError([Problem(name, line, column, "", message)])

    if len(data) > MAX_BYTES:
        raise fatal(1, 1, _TOO_LARGE)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]:
        raise fatal(
            1, 1, "the file is saved as UTF-16; save it as UTF-8 (any editor's encoding menu)"
        )
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 byte order mark is accepted and ignored
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
        raise fatal(line, column, _syntax_message(exc, text, mark)) from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text.encode(), len(text[: exc.position].encode()))
        raise fatal(line, column, _bad_character(exc.character)) from None
    except RecursionError:
        raise fatal(1, 1, "the document is nested too deeply") from None
    if root is None:  # `runbook new` never overwrites: the file must go first
        slug = Path(name).stem
        raise fatal(
            1,
            1,
            f"the file is empty; delete it, then run `runbook new {slug}` for a commented start",
        )
    if not isinstance(root, yaml.MappingNode):
        line, column = root.start_mark.line + 1, root.start_mark.column + 1
        raise fatal(line, column, f"expected a mapping of fields at the top, found {_kind(root)}")
    doc = Document(name, {})
    walker = _Walker(doc, text)
    data = walker.walk(root, ())
    if not isinstance(data, dict):  # a tag or an anchor on the whole document
        raise ClientFileError(doc.problems)
    doc.data = data
    return doc


ESCAPE_IN_DOUBLE_QUOTES = (
    "a backslash inside double quotes starts an escape sequence: write a Windows account in "
    "single quotes, e.g. 'CORP\\user', or without quotes"
)
# `"DOMAIN\user"` as typed: a NetBIOS domain, a backslash and a letter or digit
_QUOTED_ACCOUNT = re.compile(r'"[A-Za-z0-9-]{1,15}\\[A-Za-z0-9._-]')


# Control characters by their usual names; the rest by their code point
_CONTROL_NAMES = {0: "NUL", 7: "bell", 8: "backspace", 11: "vertical tab", 12: "form feed",
                  27: "escape", 127: "delete"}  # fmt: skip


def _bad_character(code: object) -> str:
    """Why a character YAML refuses is in the file, naming it."""
    number = code if isinstance(code, int) else ord(str(code)[:1] or "\0")
    name = _CONTROL_NAMES.get(number) or unicodedata.name(chr(number), "").lower()
    shown = f"{name}, U+{number:04X}" if name else f"U+{number:04X}"
    return (
        f"an invisible control character ({shown}) is in the file, often brought by a paste: "
        "delete it and type the text again"
    )


# `key: "a quoted value" and more text` on one line: the quote inside ended the value
_TEXT_AFTER_QUOTE = re.compile(r"""^\s*(?:- )?[\w.-]+:\s*(["'])(?:(?!\1).)*\1[ \t]*[^\s#]""")


def _syntax_message(exc: yaml.MarkedYAMLError, text: str, mark: Any) -> str:
    """A YAML syntax error in a consultant's words, with the fix; PyYAML's words otherwise."""
    problem = exc.problem or ""
    context = exc.context or ""
    at = _char_at(text, mark)
    if "escape" in problem or "hexdecimal" in problem:
        return ESCAPE_IN_DOUBLE_QUOTES
    if at == "\t":
        return "a tab: YAML indents with spaces only; replace the tab with spaces"
    if problem == "mapping values are not allowed in this context":
        if mark is not None and ": " in _line_before(text, mark).strip():
            return (
                "': ' inside a value starts a new field: put the whole value in single quotes, "
                "e.g. 'Note: keys at reception'"
            )
        return (
            "this line is indented deeper than the field above, which already has a value: "
            "line it up with the fields of its section"
        )
    if mark is not None and _TEXT_AFTER_QUOTE.match(_line_at(text, mark)):
        return (
            "text goes on after the value's closing quote: a quote of the same kind inside a "
            "quoted value ends it. Put the value in single quotes and write each ' inside it "
            "twice, e.g. 'Bob''s \"Best\" Shop'"
        )
    if problem.startswith("did not find expected key") or problem.startswith(
        "did not find expected '-'"
    ):
        return (
            "the indentation does not match the lines above: indent each field of a section by "
            "the same number of spaces, and each list entry ('- ') the same way"
        )
    if "cannot start any token" in problem and at in "@`%":
        return f"a value cannot start with {at!r} in YAML: put the value in single quotes"
    if "end of stream" in problem and "quoted" in context:
        return "a quote is opened but never closed: close it on the same line"
    suffix = f" ({context})" if context else ""
    return f"YAML syntax: {problem}{suffix}"


def _char_at(text: str, mark: Any) -> str:
    """The character at a YAML mark, or '' past the end."""
    index = getattr(mark, "index", None)
    if not isinstance(index, int) or not 0 <= index < len(text):
        return ""
    return text[index]


def _line_before(text: str, mark: Any) -> str:
    """The text of the mark's line before the mark."""
    index = getattr(mark, "index", None)
    if not isinstance(index, int):
        return ""
    start = text.rfind("\n", 0, index) + 1
    return text[start:index]


def _line_at(text: str, mark: Any) -> str:
    """The whole text of the mark's line."""
    index = getattr(mark, "index", None)
    if not isinstance(index, int):
        return ""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end >= 0 else len(text)]


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

    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.text = text
        self.count = 0
        self.seen: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        """The Python value of `node` at `path`."""
        self.count += 1
        if self.count > MAX_NODES or len(path) > MAX_DEPTH:
            raise ClientFileError([self.doc.problem(path, "the document is too large or too deep")])
        if id(node) in self.seen:
            # the composer hands an alias back as the very node it names
            self.doc.problems.append(self.doc.problem(path, _NO_ANCHORS, key=True))
            return None
        self.seen.add(id(node))
        start = node.start_mark
        self.doc.values[path] = start
        source = self.text[start.index : start.index + 1]
        if source == "&":
            self.doc.problems.append(self.doc.problem(path, _NO_ANCHORS))
            return None
        if source == "!":
            self.doc.problems.append(self.doc.problem(path, _NO_TAGS))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        """A single value; YAML 1.1 readings that YAML 1.2 (and editors) read otherwise are
        recorded as traps for the model, which knows what the field expects."""
        raw = str(node.value)
        self.doc.raw[path] = raw
        if node.style:
            self.doc.quoted.add(path)
        if node.style == '"' and _QUOTED_ACCOUNT.match(
            self.text[node.start_mark.index : node.end_mark.index]
        ):
            # "CORP\admin" is valid YAML, but \a is an escape: the account silently changes
            self.doc.problems.append(self.doc.problem(path, ESCAPE_IN_DOUBLE_QUOTES))
            return None
        try:
            # text is taken as it is (what the constructor would return, without its dispatch);
            # explicit tags were refused above, so the tag is the one YAML resolved
            value = (
                raw if node.tag == _STR_TAG else self.constructor.construct_object(node, deep=True)
            )
        except yaml.constructor.ConstructorError:
            self.doc.problems.append(self.doc.problem(path, "cannot read this value"))
            return None
        except (ValueError, OverflowError) as exc:
            # e.g. `2026-13-01` matches YAML's date pattern but is no real date
            self.doc.problems.append(self.doc.problem(path, f"cannot read {raw!r}: {exc}"))
            return None
        if not node.style and trap_kind(raw, value):  # plain: None (Python) or "" (libyaml)
            self.doc.traps[path] = raw
        if isinstance(value, str):
            if FILL_IN in value:
                self.doc.markers.append(
                    self.doc.problem(path, f"replace the {FILL_IN} marker with this client's value")
                )
            found = find_secret(value)
            if found:
                offset, reason = found
                self.doc.problems.append(self._inside(node, path, value, offset, reason))
        return value

    def _inside(
        self, node: yaml.Node, path: Path_, value: str, offset: int, reason: str
    ) -> Problem:
        """A problem positioned at the line and column of a finding inside a text value."""
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        needle = value[offset : offset + 12].split("\n")[0]
        if needle:
            at = self.text.find(needle, node.start_mark.index, node.end_mark.index)
            if at >= 0:
                line = self.text.count("\n", 0, at) + 1
                column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return Problem(self.doc.file, line, column, dotted(path), reason)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        """A mapping whose keys are unique text."""
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            start = key_node.start_mark
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else _kind(key_node)
                reason = (
                    "merge keys (<<) are not supported: write the fields out in full"
                    if shown == "<<"
                    else f"key {shown!r} is not a field name (field names are plain text)"
                )
                problem = Problem(self.doc.file, *_position_of(start), dotted(path), reason)
                self.doc.problems.append(problem)
                continue
            key = str(key_node.value)
            here = (*path, key)
            if key in out or here in self.doc.keys:
                first = self.doc.keys[here]
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        *_position_of(start),
                        dotted(here),
                        f"duplicate key; already given on line {first.line + 1}",
                    )
                )
                continue
            self.doc.keys[here] = start
            if _secret_key(key):
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        *_position_of(start),
                        dotted(here),
                        "looks like a credential: passwords and other secrets are typed on site "
                        "when asked, never written into a client file; remove this key",
                    )
                )
                continue  # its value is never read, so no message can show it
            out[key] = self.walk(value_node, here)
        return out


def _position_of(mark: YamlMark) -> tuple[int, int]:
    """A YAML mark's 1-based line and column."""
    return mark.line + 1, mark.column + 1


# Whether a key names a credential, by key: the same few dozen field names in every file.
_SECRET_KEYS: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    """Whether `key` names a credential (`_SECRET_KEY`)."""
    found = _SECRET_KEYS.get(key)
    if found is None:
        found = bool(_SECRET_KEY.search(key))
        if len(_SECRET_KEYS) < 10_000:  # bounded: a file may hold any keys
            _SECRET_KEYS[key] = found
    return found


_NO_ANCHORS = (
    "anchors (&name) and aliases (*name) are not supported in a client file: write the value out"
)
_NO_TAGS = (
    "explicit YAML tags (such as !!int or !!bool) are not supported: remove the tag and write "
    "the value plainly"
)

_BOOL_WORDS = {"true", "false"}
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(
    r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def trap_kind(raw: str, value: Any) -> str | None:
    """How YAML 1.1 reads `raw` unlike YAML 1.2 and the schema: "bool" (yes/no/on/off),
    "octal" (0777), "sexagesimal" (1:00), "radix" (0x1F, 0b101), "underscore" (1_000)."""
    if isinstance(value, bool):
        return None if raw.lower() in _BOOL_WORDS else "bool"
    if isinstance(value, int):
        if _DECIMAL.fullmatch(raw):
            return None
        digits = raw.lstrip("+-")
        if ":" in digits:
            return "sexagesimal"
        if digits[:2].lower() in ("0x", "0b", "0o"):
            return "radix"
        if "_" in digits:
            return "underscore"
        return "octal"
    if isinstance(value, float) and not _FLOAT.fullmatch(raw):
        return "sexagesimal" if ":" in raw else "underscore"
    return None


# --- credentials written into values -----------------------------------------------------------

# Words that name a password, in the languages consultants write notes in; and the keys
# that open a network (`Wi-Fi key: x`, `WLAN-Schlüssel: x`, `PSK=x`), never a room's (`the
# server room key`).
_HYPHEN = "[-\u2010\u2011]"
_WORD = (
    r"(?<![a-z])(?:pass(?:word|wort|wd|phrase|code)?|pwd|pw|kennwort|mot de passe|mdp|"
    r"contrase(?:ñ|n)a|wachtwoord|senha|passord|lösenord|salasana|hasło|haslo|"
    rf"(?:(?:wi{_HYPHEN}?fi|wlan|wpa[23]?|wireless|network|netzwerk|pre{_HYPHEN}?shared)"
    rf"(?: |{_HYPHEN})?(?:keys?|schlüssel|schluessel)|psk)(?![a-z])"
)
# A PIN and its digits: `PIN: 4711`, `SIM PIN 1234`, `Alarm-PIN ist 4711`; "pin" is also a
# verb (`pin Outlook to the taskbar`), so only digits after it count.
_SECRET_PIN = re.compile(
    rf"(?<![a-z])(?:[a-z]+{_HYPHEN})?pins?(?:(?: |{_HYPHEN})?codes?)?(?![a-z])\s*"
    r"(?:[:=]|(?:is|ist|lautet|est|es|was)\s)?\s*\d{4,8}(?![\d.,:]?\d)",
    re.IGNORECASE,
)
# A phrase that hands over a password: `password: x`, `pwd=x`, `Kennwort: x`, `mot de passe : x`.
_SECRET_PHRASE = re.compile(_WORD + r")\s*[:=]\s*\S", re.IGNORECASE)
# ...or says it: `password Start123!`, `Password is Summer2024!`, `Kennwort lautet Geheim123`,
# `creds admin/Passw0rd!`; what follows must look like a password (`_password_like`), so
# `the password is typed on site` stays prose. Right after a verb of saying, a word in lower
# case with a digit or a symbol in it counts too (`_passphrase_like`): `password is bluehorse42`.
_SECRET_SAID = re.compile(
    _WORD + r"|creds|credentials)\s+(?:(?P<saying>is|ist|lautet|est|es|was|are|sind|->|→)\s+)?"
    r"(?P<token>\S{6,})",
    re.IGNORECASE,
)
# A count joined to its unit is a length, not a password: `Kennwort ist 12-stellig`.
_LENGTH = re.compile(r"\d+-[^\W\d_]+")
# A word that names a network or an account, then that name and a password as a pair:
# `Guest Wi-Fi: NW-Guest / Summer2024!`, `WLAN NW-Office / Frühling2025#`, `Login: jsmith /
# Passw0rd!`, `Benutzer admin/Start123!`. Only the word right before the name (a colon, `=` or
# `is` between them) counts: `user PCs: Win7 / Office2010` names PCs, and a product and its
# version (`SBS 2003 / Windows2003R2`) name no one. The name and the password are single words
# and the password ends the pair, so dates (`12/05/2026`), paths and addresses are no pairs.
_NETWORK = rf"wi{_HYPHEN}?fi|wlan|ssid|wireless(?: network)?|guest(?: |{_HYPHEN})?network|hotspot"
_ACCOUNT = (
    r"log(?:in|on)|user(?:[ -]?(?:name|id))?|account|benutzer(?:name|konto)?|"
    r"anmeld(?:ung|ename|edaten)|zugangsdaten|utilisateur|identifiant|creds|credentials"
)
_SECRET_PAIR = re.compile(
    rf"(?<![a-z])(?:{_NETWORK}|{_ACCOUNT})(?![a-z])"
    r"(?:[ \t]*\([^()\n]{0,40}\))?"  # `WLAN (Gäste): ...`
    r"(?:[ \t]*[:=][ \t]*|[ \t]+(?:(?:is|ist|lautet|est)[ \t]+)?)"
    # bounded, as each account or network word starts a try: `user:user:...` stays linear
    r"[^\s/]{1,64}[ \t]*/[ \t]*(?P<token>[^\s/]{6,128})(?!\S)",
    re.IGNORECASE,
)
# ...or a network's name, then its key a few words on: `SSID: Northwind, key Summer2024!`;
# a bare `key` names a password only there (`the server room key` does not).
_NETWORK_KEY = re.compile(
    rf"(?<![a-z])(?:{_NETWORK})(?![a-z])[^\n]{{0,48}}?"
    r"(?<![a-z])(?:key|schlüssel|schluessel|clé)(?![a-z])"
    r"[ \t]*(?:[:=][ \t]*|(?:is|ist|lautet|est)[ \t]+)?(?P<token>\S{6,})",
    re.IGNORECASE,
)
_SECRET_WORD = re.compile(
    r"pass|pw|wort|mdp|contrase|wachtwoord|senha|lösenord|salasana|has|cred|secret|key|"
    r"schlüssel|schluessel|psk",
    re.I,
)
# ...or names it, then says it a few words on, once told whose it is: `the password for
# migadmin is Winter2024!`, `Password (migadmin): Winter2024!`, `Kennwort für migadmin:
# Geheim123`, `Passwort lautet: Geheim123`, `Password - Start123!`, `creds: migadmin Winter24!`.
_SECRET_NAMED = re.compile(_WORD + r"|secret|creds|credentials)", re.IGNORECASE)
# `(?<!\s)`: a run of blanks is tried from its first only (`x` and 20,000 blanks took 2.4 s)
_SAYING = re.compile(r"(?<!\s)\s*[:=]|\s(?:is|ist|lautet|est|es|was|are|sind|-|–|—|->|→)(?=[\s:])")
NAMED_REACH = 48  # how far after the word naming a password the saying may start
NAMED_TAIL = 80  # how much after the saying is read for the two words that may be the password
# A password inside an address (`https://user:secret@host`) or after an account
# (`NORTHWIND\migadmin:Winter2024`, `DOMAIN\user/secret`).
_SECRET_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE)
_SECRET_AFTER_ACCOUNT = re.compile(r"(?<![\w\\])[\w-]{1,15}\\[\w.-]{1,20}[:/](?P<token>\S{4,})")
_SYMBOLS = set("!@#$%^&*?~+=/")
_INNER_SYMBOLS = _SYMBOLS - {"/"}  # a slash inside a lower-case word joins two words
_TOKEN = re.compile(r"[A-Za-z0-9+=_~-]{24,}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_WRITTEN_DOWN = (
    "looks like a password written down: credentials are typed on site when asked, never "
    "written into a client file; remove it"
)


def find_secret(text: str) -> tuple[int, str] | None:
    """Where `text` seems to hold a credential, and why; None when it does not."""
    # each pattern needs a character or a word most values lack (a `:` or `=`, a word naming a
    # password, a `/`, `://`, a backslash; 24 characters in a row): checked first, as every
    # value of every file passes here
    phrase = _SECRET_PHRASE.search(text) if ":" in text or "=" in text else None
    if phrase:
        return phrase.start(), _WRITTEN_DOWN
    pin = _SECRET_PIN.search(text) if "pin" in text.lower() else None
    if pin:
        return pin.start(), _WRITTEN_DOWN
    if _SECRET_WORD.search(text):
        for said in _SECRET_SAID.finditer(text):
            token = said.group("token")
            if _password_like(token) or (said.group("saying") and _passphrase_like(token)):
                return said.start(), _WRITTEN_DOWN
        named = _named_then_said(text)
        if named is not None:
            return named, _WRITTEN_DOWN
        for key in _NETWORK_KEY.finditer(text):
            if _paired_password_like(key.group("token")):
                return key.start(), _WRITTEN_DOWN
    if "/" in text:
        for pair in _SECRET_PAIR.finditer(text):
            if _paired_password_like(pair.group("token")):
                return pair.start(), _WRITTEN_DOWN
    if "://" in text and "@" in text:
        address = _SECRET_USERINFO.search(text)
        if address:
            return address.start(), _WRITTEN_DOWN
    if "\\" in text:
        for account in _SECRET_AFTER_ACCOUNT.finditer(text):
            if _password_like(account.group("token")):
                return account.start(), _WRITTEN_DOWN
    for token in _TOKEN.finditer(text) if len(text) >= 24 else ():
        word = token.group()
        if _random_looking(word) or (_HEX.fullmatch(word) and _spread(word) >= 3.0):
            return token.start(), (
                "looks like a key or token (a long random string): credentials are typed on "
                "site when asked, never written into a client file; remove it"
            )
    return None


def _named_then_said(text: str) -> int | None:
    """Where `text` names a password and, on the same line, says what it is (`_SECRET_NAMED`):
    one of the two words after the saying looks like a password; None when it does not.

    The sayings are found once and each judged once, so that a value full of such words costs
    time in proportion to its length, not to its length squared."""
    names = list(_SECRET_NAMED.finditer(text))
    if not names:
        return None
    sayings = list(_SAYING.finditer(text))
    starts = [saying.start() for saying in sayings]
    judged: dict[int, bool] = {}
    for name in names:
        i = bisect.bisect_left(starts, name.end())
        while i < len(sayings) and starts[i] <= name.end() + NAMED_REACH:
            if "\n" in text[name.end() : starts[i]]:
                break
            if i not in judged:
                after = sayings[i].end()
                line_end = text.find("\n", after, after + NAMED_TAIL)
                words = text[after : line_end if line_end >= 0 else after + NAMED_TAIL]
                judged[i] = any(
                    len(word) >= 6 and _password_like(word)
                    for word in words.lstrip(" \t:").split()[:2]
                )
            if judged[i]:
                return name.start()
            i += 1
    return None


def _password_like(word: str) -> bool:
    """Letters and digits mixed in one word, with both cases or a symbol, as a password is
    made (`Summer2024!`, `Passw0rd`), unlike a name (`EXCH01`, `migadmin2`) or a number."""
    word = word.rstrip(".,;:)]}'\"")
    if not (any(c.isdigit() for c in word) and any(c.isalpha() for c in word)):
        return False
    cases = any(c.isupper() for c in word) and any(c.islower() for c in word)
    return cases or any(c in _SYMBOLS for c in word)


# a year closing a word, as passwords are made (`Summer2024`), unlike a port (`Port3389`)
_YEAR_END = re.compile(r"[^\W\d_](?:19|20)\d\d")
_LEET = re.compile(r"[a-z]\d[a-z]")


def _paired_password_like(word: str) -> bool:
    """The second word of a network's or an account's pair (`NW-Guest / Summer2024!`):
    password-like (`_password_like`) with a symbol in it or a year at its end, since a second
    network's or product's name is mixed too (`Northwind-5G`, `Pixel7a`, `Win10Pro`)."""
    bare = word.rstrip(".,;:)]}'\"")
    if not _password_like(bare):
        return False
    if any(c in _INNER_SYMBOLS for c in bare) or _YEAR_END.search(bare[-5:]):
        return True
    # the weak passwords' shapes, eight characters at least: a digit closing an unhyphenated
    # word (`Welcome1`, `Start123`) or standing for a letter (`Passw0rd`)
    return len(bare) >= 8 and ((bare[-1].isdigit() and "-" not in bare) or bool(_LEET.search(bare)))


def _passphrase_like(word: str) -> bool:
    """A word said right after `password is` that a password may be even in lower case
    (`bluehorse42`, `sommer2024`): letters with a digit or a symbol inside, six characters
    at least; unlike a word of the sentence going on (`typed`, `required!`, `typed/pasted`)
    or a length (`12-stellig`)."""
    word = word.rstrip(".,;:!?)]}'\"")
    if len(word) < 6 or not any(c.isalpha() for c in word) or _LENGTH.fullmatch(word):
        return False
    # a length, a property or a kind: `14chars`, `12stellig`, `o365-synced`, `AES-256`; a
    # hyphen before letters and digits mixed joins a password's parts (`blue-horse42`)
    last = word.rsplit("-", 1)[-1]
    if word[0].isdigit() or ("-" in word and (last.isalpha() or last.isdigit())):
        return False
    return any(c.isdigit() for c in word) or any(c in _INNER_SYMBOLS for c in word[1:-1])


def _random_looking(word: str) -> bool:
    """Letters and digits mixed the way a generated secret mixes them, not the way names are
    joined (`Northwind-Cutover-2024`): the kind of character changes often and few repeat."""
    chars = [c for c in word if c.isalnum()]
    kinds = ["d" if c.isdigit() else "u" if c.isupper() else "l" for c in chars]
    if len(chars) < 20 or len(set(kinds)) < 3:
        return False
    changes = sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))
    return changes >= 0.4 * len(chars) and _spread("".join(chars)) >= 3.5


def _spread(word: str) -> float:
    """Shannon entropy in bits per character: about 4 for hex keys, lower for words."""
    counts = [word.count(c) for c in set(word)]
    return -sum(n / len(word) * math.log2(n / len(word)) for n in counts)
