#!/usr/bin/env python3
"""Compare the RPC proxy's ValidPorts value with the expected one.

Reads the output of `reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts` (Server
2003's tab-separated form or later Windows' space-separated form) or a regedit `.reg` export
(UTF-16 with a BOM, or ANSI/UTF-8 text). Standalone: Python 3.8+, standard library only.

    python3 validports.py --expected "EXCH01:6001-6002;EXCH01:6004" rpcproxy.txt
    reg query HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy /v ValidPorts | python validports.py -e ... -

Exit status: 0 when the value matches; 1 when it differs, has the wrong type or is not set (the
input says so: `reg query` found no ValidPorts, or a .reg export holds none); 2 when the input
cannot be read or is neither format, or for bad usage. `runbook verify-validports` exits the same.
"""

from __future__ import annotations

import argparse
import codecs
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass

CHECK = "validports"
TARGET = "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\\ValidPorts"
KEY = "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy"
MAX_BYTES = 1024 * 1024
_REG_HEADERS = ("windows registry editor version 5.00", "regedit4")
# `reg query` value lines: indent, name, then type and data separated by a tab (Server 2003's
# reg.exe 3.0) or by four spaces (later Windows) (DOMAIN §3). Read by _query_value() in one pass:
# a single regular expression for the whole line backtracks quadratically on long blank runs.
_QUERY_SEPARATOR_RE = re.compile(r"\t+| {2,}")
_QUERY_TYPE_RE = re.compile(r"REG_[A-Z0-9_]+")
_QUERY_KEY_RE = re.compile(r"^(HKEY_[A-Z_]+|HKLM|HKCU|HKCR|HKU|HKCC)(\\|$)", re.IGNORECASE)
_REG_VALUE_RE = re.compile(r'^"(?P<value_name>(?:[^"\\]|\\.)*)"\s*=\s*(?P<data>.*)$')
_REG_STRING_RE = re.compile(r'^"(?P<text>(?:[^"\\]|\\.)*)"\s*$')
_REG_HEX_RE = re.compile(r"^hex(?:\((?P<kind>[0-9a-fA-F]+)\))?:(?P<bytes>[0-9a-fA-F,\s\\]*)$")
_HEX_TYPES = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD"}
_HEX_TYPES.update({5: "REG_DWORD_BIG_ENDIAN", 7: "REG_MULTI_SZ", 11: "REG_QWORD"})


@dataclass(frozen=True)
class Result:
    """One check outcome: status is "pass", "warn", "fail" or "skip"."""

    check: str
    target: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """Return the result as the JSON object the scripts print."""
        return asdict(self)


class ValidPortsError(ValueError):
    """Raised by parse_validports() when the input is neither `reg query` output nor a .reg file."""


@dataclass(frozen=True)
class Comparison:
    """Entries of the expected value that are missing, and entries that should not be there."""

    missing: list[str]
    extra: list[str]

    @property
    def matches(self) -> bool:
        """True when both values hold the same set of entries."""
        return not self.missing and not self.extra


@dataclass(frozen=True)
class _Found:
    """The ValidPorts value and type found in an input, and why it was not found if so."""

    value: str | None
    type: str | None
    note: str = ""


def _decode(data: bytes) -> str:
    """Decode regedit's UTF-16 (BOM), UTF-8 or ANSI text."""
    if len(data) > MAX_BYTES:
        raise ValidPortsError(f"input larger than {MAX_BYTES // 1024} KiB")
    try:
        # regedit exports are UTF-16 LE with a BOM (DOMAIN §3).
        for bom, encoding in (
            (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"),
            (codecs.BOM_UTF8, "utf-8"),
        ):
            if data.startswith(bom):
                return data[len(bom) :].decode(encoding)
        if b"\x00" in data:
            if len(data) % 2 == 0 and data[1::2].count(0) * 10 >= len(data) // 2 * 9:
                return data.decode("utf-16-le")  # UTF-16 LE text saved without a BOM
            raise ValidPortsError("binary data, not text")
    except UnicodeDecodeError as exc:
        raise ValidPortsError(f"not valid text: {exc.reason}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")  # an ANSI file from an older Windows


def _logical_lines(text: str) -> list[str]:
    """Split .reg text into lines, joining hex data continued with a trailing backslash.

    Linear in the text: the parts of a continued line are collected and joined once.
    """
    lines: list[str] = []
    parts: list[str] = []
    hex_value = False
    for raw in text.splitlines():
        line = raw.strip()
        if parts and hex_value and parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1]
            parts.append(line)
            continue
        if parts:
            lines.append("".join(parts))
        parts = [line]
        hex_value = "=hex" in line.replace(" ", "").lower()
    if parts:
        lines.append("".join(parts))
    return lines


def _query_value(line: str) -> tuple[str, str, str | None] | None:
    """Return (name, type, data) of a `reg query` value line, or None; linear in the line.

    The name is everything up to the first tab run or run of two or more spaces that is
    followed by a REG_ type, which itself ends the line or is followed by a tab or four spaces
    and the data.
    """
    if not line[:1].isspace():
        return None
    start = len(line) - len(line.lstrip())
    if start == len(line):
        return None
    for separator in _QUERY_SEPARATOR_RE.finditer(line, start + 1):
        kind = _QUERY_TYPE_RE.match(line, separator.end())
        if not kind:
            continue
        rest = line[kind.end() :]
        if not rest:
            return line[start : separator.start()], kind.group(), None
        if rest[0] == "\t":
            return line[start : separator.start()], kind.group(), rest[1:]
        if rest.startswith("    "):
            return line[start : separator.start()], kind.group(), rest[4:]
    return None


def _unescape(text: str) -> str:
    """Undo .reg string escapes: \\\\ and \\"."""
    return re.sub(r"\\(.)", r"\1", text)


def _reg_data(data: str, unicode_hex: bool) -> tuple[str, str]:
    """Return (value, type) of the data after `=` in a .reg value line."""
    string = _REG_STRING_RE.match(data)
    if string:
        return _unescape(string.group("text")), "REG_SZ"
    if data.lower().startswith("dword:"):
        return "0x" + data[6:].strip().lower(), "REG_DWORD"
    hexdata = _REG_HEX_RE.match(data)
    if not hexdata:
        raise ValidPortsError(f"cannot read the ValidPorts data: {data[:60]!r}")
    kind = int(hexdata.group("kind") or "3", 16)
    raw = bytes(int(b, 16) for b in re.findall(r"[0-9a-fA-F]{2}", hexdata.group("bytes")))
    kind_name = _HEX_TYPES.get(kind, f"hex({kind:x})")
    if kind in (1, 2, 7):  # strings: UTF-16 LE in version 5 files, ANSI in REGEDIT4 files
        text = raw.decode("utf-16-le" if unicode_hex else "cp1252", "replace")
        # Shown the way `reg query` shows a REG_MULTI_SZ: items joined by \0.
        return "\\0".join(item for item in text.split("\x00") if item), kind_name
    return raw.hex(), kind_name


def _parse_reg(text: str, unicode_hex: bool) -> _Found:
    """Find ValidPorts in a .reg export, preferring the RpcProxy key."""
    key = ""
    found: list[tuple[str, _Found]] = []
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            continue
        match = _REG_VALUE_RE.match(line)
        if not match or _unescape(match.group("value_name")).lower() != "validports":
            continue
        data = match.group("data").strip()
        if data == "-":
            found.append((key, _Found(None, None, "the .reg file deletes ValidPorts")))
        else:
            found.append((key, _Found(*_reg_data(data, unicode_hex))))
    for key, item in found:
        if key.lower().endswith("\\rpc\\rpcproxy"):
            return item
    return found[0][1] if found else _Found(None, None, "no ValidPorts value in the .reg file")


def _parse_query(lines: list[str]) -> _Found:
    """Find ValidPorts in `reg query` output of any Windows version."""
    recognised = False
    errors: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.upper().startswith("! REG.EXE VERSION") or _QUERY_KEY_RE.match(stripped):
            recognised = True
        elif stripped.upper().startswith("ERROR:"):
            recognised = True
            errors.append(stripped)
        value = _query_value(line)
        if value:
            recognised = True
            name, kind, data = value
            if name.strip().lower() == "validports":
                return _Found(data or "", kind)
    if not recognised:
        raise ValidPortsError("neither `reg query` output nor a .reg export")
    note = f"reg.exe said: {errors[0]}" if errors else "no ValidPorts value in the reg query output"
    return _Found(None, None, note)


def _read(data: bytes) -> _Found:
    """Decode an input and find ValidPorts in whichever format it is."""
    text = _decode(data).lstrip("\ufeff")
    lines = text.splitlines()
    header = next((line.strip().lower() for line in lines if line.strip()), "")
    if not header:
        raise ValidPortsError("empty input")
    if header in _REG_HEADERS:
        return _parse_reg(text, unicode_hex=header != "regedit4")
    return _parse_query(lines)


def parse_validports(data: bytes) -> tuple[str | None, str | None]:
    """Return (value, type) of ValidPorts in reg query output or a .reg export; None if absent."""
    found = _read(data)
    return found.value, found.type


def entries(value: str) -> list[str]:
    """Split a ValidPorts value into its entries (DOMAIN §3: `;`-separated, blanks ignored)."""
    return [item.strip() for item in value.split(";") if item.strip()]


def _key(entry: str) -> tuple[str, str]:
    """Compare key of an entry: host case-insensitive, ports exact (DOMAIN §3)."""
    host, sep, ports = entry.rpartition(":")
    return (host.lower(), ports) if sep else (entry.lower(), "")


def _unique(items: list[str]) -> list[str]:
    """Drop entries whose compare key was already seen, keeping order."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in items:
        if _key(item) not in seen:
            seen.add(_key(item))
            kept.append(item)
    return kept


def compare(expected: str, actual: str) -> Comparison:
    """Compare two ValidPorts values as sets of entries; missing in expected order."""
    wanted, present = entries(expected), entries(actual)
    wanted_keys, present_keys = {_key(e) for e in wanted}, {_key(e) for e in present}
    return Comparison(
        missing=_unique([e for e in wanted if _key(e) not in present_keys]),
        extra=_unique([e for e in present if _key(e) not in wanted_keys]),
    )


def _judge(expected: str, found: _Found) -> Result:
    """Turn what was found into the validports result."""
    if found.value is None:
        return Result(CHECK, TARGET, "fail", f"ValidPorts not found ({found.note})")
    if found.type is not None and found.type.upper() != "REG_SZ":
        # Another type silently breaks the proxy (DOMAIN §3).
        detail = (
            f"ValidPorts is {found.type}, it must be REG_SZ: delete it with "
            f'reg delete "{KEY}" /v ValidPorts /f, then set it with '
            f'reg add "{KEY}" /v ValidPorts /t REG_SZ /d "{expected}" /f'
        )
        return Result(CHECK, TARGET, "fail", detail)
    comparison = compare(expected, found.value)
    if comparison.matches:
        return Result(CHECK, TARGET, "pass", f"matches ({len(entries(found.value))} entries)")
    problems = []
    if comparison.missing:
        problems.append("missing: " + ", ".join(comparison.missing))
    if comparison.extra:
        problems.append("extra: " + ", ".join(comparison.extra))
    return Result(CHECK, TARGET, "fail", "; ".join(problems))


def verify(expected: str, data: bytes) -> list[Result]:
    """Check the ValidPorts in data against expected; raise ValidPortsError if unreadable."""
    return [_judge(expected, _read(data))]


def print_results(results: Sequence[Result], as_json: bool) -> None:
    """Print results as JSON ({"results": [...]}) or as one line each."""
    if as_json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        return
    for r in results:
        print(f"{r.status.upper():<4}  {r.check}  {r.target}  {r.detail}")


def _load(path: str) -> bytes:
    """Read at most MAX_BYTES + 1 bytes from a file, or from stdin for `-`."""
    if path == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    with open(path, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Compare ValidPorts from `reg query` output or a .reg export with the "
        "expected value (entries compared as a set, host names case-insensitive).",
    )
    parser.add_argument("file", metavar="FILE", help="reg query output or .reg export; - for stdin")
    parser.add_argument("-e", "--expected", required=True, help="the expected ValidPorts value")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if not entries(args.expected):
        parser.error("--expected holds no host:port entry")
    try:
        found = _read(_load(args.file))
    except (OSError, ValidPortsError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        detail = f"cannot read {args.file}: {reason}"
        print_results([Result(CHECK, TARGET, "fail", detail)], args.json)
        return 2
    result = _judge(args.expected, found)
    print_results([result], args.json)
    # A readable input without the value is a verification that failed, not bad input.
    return 1 if result.status == "fail" else 0


if __name__ == "__main__":
    sys.exit(main())
