"""Shared fixtures: running the command line, and writing client files."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import HttpsProxy, Pki

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "runbooks"
FIXTURE_CLIENTS = Path(__file__).resolve().parent / "fixtures" / "clients"
EXAMPLE_SLUGS = ["alpine-logistics", "harbor-dental", "northwind-traders"]

BASE: dict[str, Any] = {
    "client": "Test Client",
    "exchange": {
        "service_pack": 2,
        "servers": [{"name": "EXCH01", "fqdn": "exch01.corp.local"}],
    },
    "rpc_proxy": {"public_fqdn": "mail.testclient.com", "tls_front": "Edge firewall TLS 1.2"},
    "office365": {
        "admin": "admin@testclient.onmicrosoft.com",
        "migration_account": "CORP\\migadmin",
        "test_mailbox": "jane@testclient.com",
    },
    "domains": [
        {
            "name": "testclient.com",
            "mx_target": "testclient-com.mail.protection.outlook.com",
            "mx_ttl": 3600,
        }
    ],
}


def client_dict(**changes: Any) -> dict[str, Any]:
    """The base client with dotted-path changes, e.g. `**{"rpc_proxy.front_end": {...}}`."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def check_invocations(values: Any) -> list[str]:
    """Every check-script command line the runbook and the handout must show for a client."""
    commands = values.checks
    return [
        commands.ports_outside,
        commands.ports_inside,
        commands.rpcproxy,
        commands.reg_query_to_file,
        commands.validports,
        commands.runbook_check,
        commands.runbook_verify,
        *commands.dns_before,
        *commands.dns_after,
    ]


@dataclass
class Run:
    """What a command printed and its exit status."""

    code: int
    out: str
    err: str


def runbook_args(*args: str, resolve: Sequence[str] = ()) -> list[str]:
    """The command line of `runbook ARGS` in a subprocess; with `resolve` (`H:P:H2:P2` each),
    looking up H:P answers H2:P2, as a hosts file would (tests/resolver.py)."""
    if resolve:
        return [sys.executable, "-m", "tests.resolver", *resolve, "--", *args]
    return [sys.executable, "-m", "generator", *args]


def run_cli(
    *args: str, cwd: Path = ROOT, stdin: str | None = None, resolve: Sequence[str] = ()
) -> Run:
    """Run `python -m generator ARGS` as a user would, in a subprocess (`resolve`: see
    `runbook_args`)."""
    proc = subprocess.run(
        runbook_args(*args, resolve=resolve),
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Callable[..., Run]:
    """The command line as a function."""
    return run_cli


@pytest.fixture
def write_client(tmp_path: Path) -> Callable[..., Path]:
    """Write a client file (text or dict) as tmp/runbooks/<slug>.yml and return its path."""

    def write(content: str | dict[str, Any] | bytes, slug: str = "test-client") -> Path:
        folder = tmp_path / "runbooks"
        folder.mkdir(exist_ok=True)
        path = folder / f"{slug}.yml"
        if isinstance(content, dict):
            content = yaml.safe_dump(content, sort_keys=False)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return path

    return write


def as_in_a_terminal() -> None:
    """`preexec_fn` of a process a test interrupts with Ctrl-C: SIGINT's default action, as
    in a terminal. A shell script's background job (`make test &`) ignores SIGINT, and that
    is inherited, so the interrupt would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def mkdocs_args(site_dir: Path) -> list[str]:
    """The command line of `mkdocs build --strict` into `site_dir` (run it from ROOT)."""
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)]


def site_env(site_dir: Path, runbooks: Path | None = None, **more: str) -> dict[str, str]:
    """The environment of a test's site build: its own generated folder beside its site (the
    project's build/docs stays as it is), optionally other client files."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "RUNBOOK_DOCS_DIR": f"{site_dir}-docs"}
    env.update(more)
    if runbooks is not None:
        env["RUNBOOKS_DIR"] = str(runbooks)
    return env


def mkdocs_build(site_dir: Path, runbooks: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `mkdocs build --strict` into `site_dir`, optionally with other client files."""
    return subprocess.run(
        mkdocs_args(site_dir),
        cwd=ROOT,
        env=site_env(site_dir, runbooks),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def site_runbooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runbooks folder with the examples and the fixture clients."""
    folder = tmp_path_factory.mktemp("runbooks")
    for path in [*EXAMPLES.glob("*.yml"), *FIXTURE_CLIENTS.glob("*.yml")]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, site_runbooks: Path) -> Path:
    """The site built with `mkdocs build --strict` from the examples and fixture clients."""
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(out, site_runbooks)
    assert result.returncode == 0, result.stderr
    return out


# --- the checks against loopback servers (test_check_cli, test_check_run) -------------------

CHECKED_PUBLIC = "mail.northwind.com"  # the public name of the example the checks run against


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A test CA."""
    return Pki()


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    """A private copy of the example client files (evidence is written beside them)."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for path in EXAMPLES.glob("*.yml"):
        shutil.copy(path, folder)
    return folder


@pytest.fixture
def cafile(pki: Pki, tmp_path: Path) -> str:
    """The test CA as a PEM file."""
    return pki.write_cafile(str(tmp_path))


@pytest.fixture
def proxy(pki: Pki) -> Iterator[HttpsProxy]:
    """A trusted RPC proxy for the public name asking for Basic authentication."""
    with HttpsProxy(pki.leaf(CHECKED_PUBLIC), "basic") as server:
        yield server
