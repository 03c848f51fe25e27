"""The MkDocs site built from client files by the hook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_SLUGS, ROOT
from tests.htmltext import code_blocks, visible_text


def mkdocs_build(site_dir: Path, runbooks: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `mkdocs build --strict` into `site_dir`, optionally with other client files."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    if runbooks is not None:
        env["RUNBOOKS_DIR"] = str(runbooks)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the example clients."""
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_a_page_per_client_with_its_values(site: Path, slug: str) -> None:
    from generator.cli import load_values

    values = load_values(ROOT / "runbooks", slug)
    html = (site / "clients" / slug / "index.html").read_text(encoding="utf-8")
    blocks = code_blocks(html)
    for line in [values.registry.query, values.registry.backup, values.registry.set]:
        assert line in blocks
    for line in values.telnet.inside + values.telnet.outside:
        assert line in blocks
    for record in values.dns:
        assert "\n".join([record.mx, record.spf, record.autodiscover]) in blocks
    text = visible_text(html)
    assert values.valid_ports in text
    assert values.client in text


def test_no_files_are_written_into_docs(site: Path) -> None:
    assert not (ROOT / "docs" / "clients").exists()


def test_an_invalid_client_file_fails_the_build_with_its_position(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    good = (ROOT / "runbooks" / "northwind-traders.yml").read_text(encoding="utf-8")
    (runbooks / "northwind-traders.yml").write_text(good, encoding="utf-8")
    (runbooks / "broken.yml").write_text(good.replace("public_fqdn", "public_fqnd"))
    result = mkdocs_build(tmp_path / "site", runbooks)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{runbooks}/broken.yml:13:3: rpc_proxy.public_fqnd: unknown field" in result.stderr
