"""The check scripts on the oldest Python they promise to run on (3.8), against real servers.

The other check tests run the scripts on the project's own Python; a workstation inside a
client's network may have only 3.8 (the last release for Windows 7), and a newer library call
or syntax breaks there only when it runs. Each script is copied alone into an empty folder
(single files: nothing of the project to import) and run once through its main path. The
interpreter is CHECKS_OLDEST_PYTHON, or a Python 3.8 found on PATH or under ~/.pyenv; without
one these tests skip, saying so.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.rpch_server import RpchProxy
from tests.servers import DnsServer, HttpsProxy, Pki, banner_server
from tests.test_check_rpcping import PASSWORD, PUBLIC, SERVER, USER, VALID_PORTS

OLDEST = (3, 8)


def oldest_python() -> str | None:
    """A Python of the OLDEST version, or None."""
    found = [os.environ.get("CHECKS_OLDEST_PYTHON", ""), shutil.which("python3.8") or ""]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python")))
    for candidate in filter(None, found):
        probe = subprocess.run(
            [candidate, "-c", f"import sys; print(sys.version_info[:2] == {OLDEST})"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


@pytest.fixture(scope="module")
def python38() -> str:
    found = oldest_python()
    if found is None:
        pytest.skip("no Python 3.8 found: set CHECKS_OLDEST_PYTHON to one (e.g. pyenv's)")
    return found


def run(
    python: str, folder: Path, script: str, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Copy `script` alone into `folder` and run it there, with `-I` (no user site, no
    PYTHONPATH: only the standard library of that Python and what it has installed)."""
    copy = folder / script
    shutil.copyfile(ROOT / "checks" / script, copy)
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    if password is not None:
        env["RUNBOOK_PASSWORD"] = password
    return subprocess.run(
        [python, "-I", str(copy), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def statuses(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The status of each result of a --json run."""
    return [r["status"] for r in json.loads(proc.stdout)["results"]]


def test_ports_on_3_8(python38: str, tmp_path: Path) -> None:
    with banner_server(b"ncacn_http/1.0") as server:
        proc = run(python38, tmp_path, "ports.py", "--json", f"127.0.0.1:{server.port}")
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc) == ["pass"]


def test_validports_on_3_8(python38: str, tmp_path: Path) -> None:
    saved = tmp_path / "reg-query.txt"
    saved.write_bytes(
        b"\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\r\n"
        b"    ValidPorts    REG_SZ    " + VALID_PORTS.encode() + b"\r\n\r\n"
    )
    proc = run(python38, tmp_path, "validports.py", "--json", "--expected", VALID_PORTS, str(saved))
    assert proc.returncode == 0, proc.stderr
    assert set(statuses(proc)) == {"pass"}


def test_dnsrecords_on_3_8_without_dnspython(python38: str, tmp_path: Path) -> None:
    records = {
        ("northwind.com", "MX"): (3600, ["10 mail.northwind.com."]),
        ("northwind.com", "TXT"): (3600, ['"v=spf1 mx -all"']),
        # the TTL is read at the domain's own name server (asked without recursion)
        ("northwind.com", "NS"): (3600, ["ns1.northwind.com."]),
        ("ns1.northwind.com", "A"): (3600, ["127.0.0.1"]),
    }
    with DnsServer(records) as server:
        proc = run(
            python38, tmp_path, "dnsrecords.py", "--json", "--mode", "before",
            "--nameserver", "127.0.0.1", "--port", str(server.port), "--timeout", "5",
            "northwind.com",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc) == ["pass", "pass", "pass"]
    results = json.loads(proc.stdout)["results"]
    assert results[0]["detail"].startswith(
        "MX today: 10 mail.northwind.com (TTL 3600 s at ns1.northwind.com)"
    )


def test_rpcproxy_on_3_8(python38: str, tmp_path: Path) -> None:
    pki = Pki()
    cafile = pki.write_cafile(str(tmp_path))
    with HttpsProxy(pki.leaf(PUBLIC)) as server:
        proc = run(
            python38, tmp_path, "rpcproxy.py", "--json", "--cafile", cafile,
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}",
            "--server", SERVER, "--auth-method", "basic", "--ports", "6001", PUBLIC,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fail" not in statuses(proc)
    assert "pass" in statuses(proc)


def test_rpcping_on_3_8(python38: str, tmp_path: Path) -> None:
    pki = Pki()
    cafile = pki.write_cafile(str(tmp_path))
    url = f"https://{PUBLIC}/rpc/rpcproxy.dll?{SERVER}:6001"
    with RpchProxy(pki.leaf(PUBLIC), (USER, PASSWORD), VALID_PORTS) as server:
        proc = run(
            python38, tmp_path, "rpcping.py", "--json", "--user", USER, "--cafile", cafile,
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", url,
            password=PASSWORD,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert statuses(proc) == ["pass"]
    assert PASSWORD not in proc.stdout + proc.stderr
