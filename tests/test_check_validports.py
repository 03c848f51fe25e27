"""checks/validports.py: reg query outputs of both eras, .reg exports in both encodings."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.validports import (
    Comparison,
    Result,
    ValidPortsError,
    _query_value,
    compare,
    parse_validports,
    verify,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "checks" / "validports.py"
FIXTURES = ROOT / "tests" / "fixtures" / "regquery"
TARGET = "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\\ValidPorts"
# What the generator derives for a single Exchange server that also runs the proxy (DOMAIN §3).
EXPECTED = (
    "EXCH01:6001-6002;EXCH01:6004;exch01.northwind.local:6001-6002;exch01.northwind.local:6004;"
    "mail.northwind.com:6001-6002;mail.northwind.com:6004"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run_script(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], input=stdin, capture_output=True, timeout=20
    )


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("query-2003.txt", EXPECTED, "REG_SZ"),
        ("query-2008.txt", EXPECTED, "REG_SZ"),
        (
            "query-all-values.txt",
            "exch01:6001-6002;exch01:6004;EXCH01.NORTHWIND.LOCAL:6001-6002;"
            "EXCH01.NORTHWIND.LOCAL:6004;oldfe01:6001-6002;",
            "REG_SZ",
        ),
        ("query-dword.txt", "0x1771", "REG_DWORD"),
        ("query-multisz.txt", "EXCH01:6001-6002\\0EXCH01:6004", "REG_MULTI_SZ"),
        ("export-utf16.reg", EXPECTED, "REG_SZ"),
        ("export-regedit4.reg", EXPECTED, "REG_SZ"),
        ("export-multisz.reg", "EXCH01:6001-6002\\0EXCH01:6004", "REG_MULTI_SZ"),
        ("query-notfound.txt", None, None),
    ],
)
def test_parse_fixtures(name: str, value: str | None, kind: str | None) -> None:
    assert parse_validports(fixture(name)) == (value, kind)


def test_utf16_fixture_is_what_regedit_writes() -> None:
    data = fixture("export-utf16.reg")
    assert data.startswith(codecs.BOM_UTF16_LE)
    assert "\r\n".encode("utf-16-le") in data


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16-le"),  # no BOM
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.replace("\r\n", "\n").encode("cp1252"),
    ],
)
def test_reg_exports_in_any_text_encoding(encode: Callable[[str], bytes]) -> None:
    text = fixture("export-utf16.reg")[2:].decode("utf-16-le")
    assert parse_validports(encode(text)) == (EXPECTED, "REG_SZ")


def test_reg_string_escapes_are_undone() -> None:
    data = b'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_X]\r\n"Valid\\"Ports"="x"\r\n'
    data += b'"VALIDPORTS"="a\\\\b:1;\\"c\\":2"\r\n'
    assert parse_validports(data) == ('a\\b:1;"c":2', "REG_SZ")


def test_reg_prefers_the_rpcproxy_key() -> None:
    data = (
        b"Windows Registry Editor Version 5.00\r\n\r\n"
        b'[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n"ValidPorts"="other:1"\r\n\r\n'
        b'[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy]\r\n"ValidPorts"="right:2"\r\n'
    )
    assert parse_validports(data) == ("right:2", "REG_SZ")


def test_reg_query_with_an_empty_value() -> None:
    data = b"\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\r\n"
    data += b"    ValidPorts    REG_SZ\r\n"
    assert parse_validports(data) == ("", "REG_SZ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty input"),
        (b"\r\n  \r\n", "empty input"),
        (b"just some notes\nabout the server\n", "neither `reg query` output nor a .reg export"),
        (b"\x00\x01\x02\xff\xfe\x00\x00\x10", "binary data, not text"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "not valid text"),
        (b'REGEDIT4\r\n\r\n[HKEY_X]\r\n"ValidPorts"=junk\r\n', "cannot read the ValidPorts data"),
        (b"x" * (1024 * 1024 + 1), "input larger than 1024 KiB"),
    ],
)
def test_unreadable_input_raises(data: bytes, message: str) -> None:
    with pytest.raises(ValidPortsError, match="^" + message.replace("(", r"\(")):
        parse_validports(data)


def test_validports_error_is_a_value_error() -> None:
    assert issubclass(ValidPortsError, ValueError)


def test_compare_hosts_case_insensitively_and_ports_exactly() -> None:
    assert compare("EXCH01:6001-6002;exch01:6004", " exch01:6004 ;EXCH01:6001-6002;;") == (
        Comparison(missing=[], extra=[])
    )
    assert compare("exch01:6001-6002", "exch01:6001") == Comparison(
        missing=["exch01:6001-6002"], extra=["exch01:6001"]
    )
    # No canonicalisation: a NetBIOS name is not its FQDN (DOMAIN §3).
    assert compare("exch01:6004", "exch01.northwind.local:6004").missing == ["exch01:6004"]


def test_compare_lists_missing_in_expected_order_once() -> None:
    result = compare("c:3;a:1;b:2;A:1", "b:2;z:9;Z:9")
    assert result == Comparison(missing=["c:3", "a:1"], extra=["z:9"])
    assert not result.matches
    assert compare("a:1", "A:1").matches


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("query-2003.txt", "pass", "matches (6 entries)"),
        ("export-utf16.reg", "pass", "matches (6 entries)"),
        (
            "query-all-values.txt",
            "fail",
            "missing: mail.northwind.com:6001-6002, mail.northwind.com:6004; "
            "extra: oldfe01:6001-6002",
        ),
        (
            "query-dword.txt",
            "fail",
            "ValidPorts is REG_DWORD, it must be REG_SZ: delete it with "
            'reg delete "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /f, then set it '
            'with reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /t REG_SZ '
            f'/d "{EXPECTED}" /f',
        ),
        (
            "export-multisz.reg",
            "fail",
            "ValidPorts is REG_MULTI_SZ, it must be REG_SZ: delete it with "
            'reg delete "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /f, then set it '
            'with reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /t REG_SZ '
            f'/d "{EXPECTED}" /f',
        ),
        (
            "query-notfound.txt",
            "fail",
            "ValidPorts not found (reg.exe said: ERROR: The system was unable to find the "
            "specified registry key or value.)",
        ),
    ],
)
def test_verify(name: str, status: str, detail: str) -> None:
    assert verify(EXPECTED, fixture(name)) == [Result("validports", TARGET, status, detail)]


def test_verify_raises_on_unreadable_input() -> None:
    with pytest.raises(ValidPortsError):
        verify(EXPECTED, b"hello")


def test_cli_match_exits_zero_with_json() -> None:
    proc = run_script("--expected", EXPECTED, "--json", str(FIXTURES / "export-utf16.reg"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "results": [
            {
                "check": "validports",
                "target": TARGET,
                "status": "pass",
                "detail": "matches (6 entries)",
            }
        ]
    }


def test_cli_mismatch_exits_one() -> None:
    proc = run_script("--expected", EXPECTED, str(FIXTURES / "query-all-values.txt"))
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith(f"FAIL  validports  {TARGET}  missing: ")


def test_cli_wrong_type_exits_one() -> None:
    proc = run_script("-e", EXPECTED, "--json", str(FIXTURES / "query-dword.txt"))
    assert proc.returncode == 1
    assert "must be REG_SZ" in json.loads(proc.stdout)["results"][0]["detail"]


def test_cli_reads_stdin() -> None:
    proc = run_script("-e", EXPECTED, "-", stdin=fixture("query-2008.txt"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"PASS  validports  {TARGET}  matches (6 entries)\n"


def test_cli_not_found_exits_one() -> None:
    # The input is readable and says the value is not set: a verification that failed.
    proc = run_script("-e", EXPECTED, "--json", str(FIXTURES / "query-notfound.txt"))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["results"][0]["detail"].startswith("ValidPorts not found")


@pytest.mark.parametrize(
    ("args", "stdin", "detail"),
    [
        (["/nonexistent/rpcproxy.reg"], b"", "cannot read /nonexistent/rpcproxy.reg: No such file"),
        (["-"], b"\x00\x01\x02\x03garbage", "cannot read -: binary data, not text"),
        (["-"], b"hello\n", "cannot read -: neither `reg query` output nor a .reg export"),
    ],
)
def test_cli_unreadable_input_exits_two(args: list[str], stdin: bytes, detail: str) -> None:
    proc = run_script("-e", EXPECTED, "--json", *args, stdin=stdin)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["results"][0]["detail"].startswith(detail)


@pytest.mark.parametrize("args", [["-e", " ; ", "-"], ["x.reg"], ["-e", EXPECTED]])
def test_cli_bad_usage_exits_two(args: list[str]) -> None:
    proc = run_script(*args)
    assert proc.returncode == 2
    assert b"error:" in proc.stderr


MIB = 1024 * 1024
QUERY_HEAD = b"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\r\n"
REG_HEAD = b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_X\\Rpc\\RpcProxy]\r\n"


@pytest.mark.parametrize(
    "data",
    [
        QUERY_HEAD + b" a" + b" " * (MIB - 200) + b"x\r\n",
        QUERY_HEAD + b" a" + b"\t" * (MIB - 200) + b"x\r\n",
        QUERY_HEAD + b" a" + b" \t" * (MIB // 2 - 100) + b"x\r\n",
        QUERY_HEAD + b" ValidPorts" + b"  REG_" * (MIB // 6 - 100) + b"\r\n",
        REG_HEAD + b'"ValidPorts"=hex(7):41,00,\\\r\n' + b"  00,\\\r\n" * (MIB // 8 - 100),
    ],
    ids=["spaces", "tabs", "space-tab", "type-like", "continued-hex"],
)
def test_a_mebibyte_of_adversarial_input_parses_in_linear_time(data: bytes) -> None:
    # A hang guard, not a stopwatch: the quadratic parser needed minutes for these.
    assert len(data) <= MIB
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "-e", EXPECTED, "--json", "-"],
        input=data,
        capture_output=True,
        timeout=10,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["status"] == "fail"


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("    ValidPorts\tREG_SZ\tA:1", ("ValidPorts", "REG_SZ", "A:1")),
        ("    ValidPorts    REG_SZ    A:1;B:2", ("ValidPorts", "REG_SZ", "A:1;B:2")),
        ("    ValidPorts    REG_SZ", ("ValidPorts", "REG_SZ", None)),
        ("    My Value    REG_DWORD    0x1", ("My Value", "REG_DWORD", "0x1")),
        ("    a b  REG_SZX  REG_SZ    v", ("a b  REG_SZX", "REG_SZ", "v")),
        ("    Name   \tREG_SZ\tv", ("Name   ", "REG_SZ", "v")),
        ("ValidPorts    REG_SZ    v", None),
        ("    ValidPorts REG_SZ v", None),
        ("    ", None),
    ],
)
def test_query_value_lines(line: str, found: tuple[str, str, str | None] | None) -> None:
    assert _query_value(line) == found
