"""`runbook bundle`: an offline site holding one client and nothing of the others."""

from __future__ import annotations

import gzip
import html
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.clients import load_values
from tests.conftest import Run


def client_strings(runbooks: Path, slug: str) -> set[str]:
    """Strings that identify a client: its name, slug, host names and domains."""
    v = load_values(runbooks, slug)
    found = {v.client, html.escape(v.client), slug, v.public_fqdn}
    found |= {s.fqdn for s in v.topology.servers} | {d.domain for d in v.dns}
    if v.topology.proxy_runs_on == "front-end":
        found.add(v.topology.proxy_host.fqdn)
    return found


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, site_runbooks: Path) -> Path:
    """The bundle of northwind-traders built next to every other client."""
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("dist") / "northwind.zip"
    runbooks = str(site_runbooks)
    result = run_cli("bundle", "northwind-traders", "--runbooks", runbooks, "-o", str(out))
    assert result.code == 0, result.err
    return out


def test_bundle_holds_the_client_its_downloads_and_offline_search(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        root = "northwind-traders-runbook/"
        for name in [
            "index.html",
            "clients/northwind-traders.html",  # the offline plugin turns off directory URLs
            "clients/northwind-traders/validports.reg",
            "downloads/checks/ports.py",
            "search/search_index.js",
            "handouts/northwind-traders.pdf",
        ]:
            assert root + name in names, name
        assert sorted(n for n in names if n.endswith(".pdf")) == [
            root + "handouts/check-scripts.pdf",
            root + "handouts/northwind-traders.pdf",
        ]
        index = archive.read(root + "index.html").decode()
        assert "Northwind Traders" in index


def test_bundle_contains_nothing_of_the_other_clients(bundle: Path, site_runbooks: Path) -> None:
    others: set[str] = set()
    for path in site_runbooks.glob("*.yml"):
        if path.stem != "northwind-traders":
            others |= client_strings(site_runbooks, path.stem)
    assert "Harbor Dental Group" in others and "exch02.alpine.local" in others
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            text = data.decode("utf-8", errors="replace")
            for secret in others:
                assert secret not in text, (name, secret)


def test_bundle_loads_nothing_from_the_network(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            if name.endswith(".html"):
                page = archive.read(name).decode()
                assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page), name


def test_bundle_of_an_unknown_client(cli: Callable[..., Run], tmp_path: Path) -> None:
    result = cli("bundle", "no-such-client", "-o", str(tmp_path / "x.zip"))
    assert result.code == 2
    assert "no such client file" in result.err
    assert not (tmp_path / "x.zip").exists()


def test_bundle_default_path(cli: Callable[..., Run], tmp_path: Path) -> None:
    runbooks = Path(__file__).resolve().parent.parent / "runbooks"
    result = cli("bundle", "harbor-dental", "--runbooks", str(runbooks), cwd=tmp_path)
    assert result.code == 0, result.err
    assert (tmp_path / "dist" / "harbor-dental-runbook.zip").is_file()


def test_bundle_of_a_client_named_by_its_path(cli: Callable[..., Run], tmp_path: Path) -> None:
    # a path works wherever a slug does (README); it once stopped at "not a slug", or with -o
    # at "Aborted with a BuildError!"
    client = Path(__file__).resolve().parent.parent / "runbooks" / "harbor-dental.yml"
    result = cli("bundle", str(client), cwd=tmp_path)
    assert result.code == 0, result.err
    out = tmp_path / "dist" / "harbor-dental-runbook.zip"
    with zipfile.ZipFile(out) as archive:
        assert "harbor-dental-runbook/clients/harbor-dental.html" in archive.namelist()
