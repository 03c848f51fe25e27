"""The site engine's input folder: written before any engine runs, only what changed.

Zensical reads the same `mkdocs.yml` as MkDocs but ignores its hooks; built over the generated
folder it must give every client its page.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.errors import UserError
from generator.generate import KEEP, generate
from tests.conftest import EXAMPLE_SLUGS, EXAMPLES, FIXTURE_CLIENTS, ROOT, run_cli

EVIL = "evil-corp"


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    """The examples and the hostile fixture client, in a folder of their own."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for path in [*EXAMPLES.glob("*.yml"), *FIXTURE_CLIENTS.glob("*.yml")]:
        shutil.copy(path, folder / path.name)
    return folder


def test_the_folder_holds_every_page_download_and_reference(tmp_path: Path, runbooks: Path) -> None:
    out = tmp_path / "docs"
    done = generate(ROOT / "docs", out, runbooks)
    for slug in [*EXAMPLE_SLUGS, EVIL]:
        assert (out / "clients" / f"{slug}.md").is_file()
        assert (out / "clients" / slug / "validports.reg").is_file()
    for name in ("reference/client-file.md", "reference/check-scripts.md", "guides/checks.md"):
        assert (out / name).is_file()
    assert (out / "downloads" / "checks" / "ports.py").read_bytes() == (
        ROOT / "checks" / "ports.py"
    ).read_bytes()
    home = (out / "index.md").read_text()
    assert "<!-- clients -->" not in home and "clients/northwind-traders.md" in home
    assert not (out / "handouts").exists()  # none asked for
    assert len(done.pages) == len(EXAMPLE_SLUGS) + 1 and done.broken == {}


def test_a_second_generation_writes_nothing_and_an_edit_writes_its_page(
    tmp_path: Path, runbooks: Path
) -> None:
    out = tmp_path / "docs"
    first = generate(ROOT / "docs", out, runbooks)
    assert "clients/harbor-dental.md" in first.changed
    assert generate(ROOT / "docs", out, runbooks).changed == []
    client = runbooks / "harbor-dental.yml"
    client.write_text(client.read_text() + "\n# a comment changes the revision\n")
    assert generate(ROOT / "docs", out, runbooks).changed == ["clients/harbor-dental.md"]


def test_a_removed_client_leaves_no_page_and_the_keep_file_stays(
    tmp_path: Path, runbooks: Path
) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / KEEP).write_text("")
    generate(ROOT / "docs", out, runbooks)
    (runbooks / "harbor-dental.yml").unlink()
    generate(ROOT / "docs", out, runbooks)
    assert not (out / "clients" / "harbor-dental.md").exists()
    assert not (out / "clients" / "harbor-dental").exists()
    assert (out / KEEP).exists()


def test_a_folder_holding_other_files_is_refused_not_emptied(
    tmp_path: Path, runbooks: Path
) -> None:
    # `runbook generate --out .` (or `--out runbooks`) once removed every file it had not
    # written: the whole project, its .git and its client files
    out = tmp_path / "project"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    result = run_cli("generate", "--no-handouts", "--out", str(out), "--runbooks", str(runbooks))
    assert result.code == 2, result.err
    assert result.err == (
        f"{out}: cannot generate the site's pages there: it holds files a generation did not "
        f"write (no {KEEP}), which it would remove; name a new or empty folder\n"
    )
    assert sorted(p.name for p in out.iterdir()) == [".git", "notes.txt"]
    assert (out / "notes.txt").read_text() == "precious"
    assert (out / ".git" / "HEAD").is_file()


def test_a_new_folder_is_marked_as_generated_and_made_again(tmp_path: Path, runbooks: Path) -> None:
    out = tmp_path / "docs"
    generate(ROOT / "docs", out, runbooks)
    assert (out / KEEP).is_file()
    (runbooks / "harbor-dental.yml").unlink()
    generate(ROOT / "docs", out, runbooks)  # its own earlier output: refreshed, not refused
    assert not (out / "clients" / "harbor-dental.md").exists()


def test_a_broken_file_stops_the_generation_with_its_position(
    tmp_path: Path, runbooks: Path
) -> None:
    (runbooks / "harbor-dental.yml").write_text("client: [broken\n")
    with pytest.raises(UserError) as raised:
        generate(ROOT / "docs", tmp_path / "docs", runbooks)
    assert any("harbor-dental.yml:2:1:" in line for line in raised.value.lines())


def test_in_the_preview_a_broken_file_gets_a_page_with_its_errors(
    tmp_path: Path, runbooks: Path
) -> None:
    out = tmp_path / "docs"
    (runbooks / "harbor-dental.yml").write_text("client: [broken\n")
    done = generate(ROOT / "docs", out, runbooks, show_errors=True)
    page = (out / "clients" / "harbor-dental.md").read_text()
    assert "harbor-dental.yml:2:1: YAML syntax" in page
    assert list(done.broken) == ["harbor-dental"]
    assert (out / "clients" / "northwind-traders.md").is_file()  # the others are unaffected
    assert "clients/harbor-dental.md" in (out / "index.md").read_text()


def test_a_client_title_is_escaped_once_in_its_front_matter(tmp_path: Path, runbooks: Path) -> None:
    out = tmp_path / "docs"
    generate(ROOT / "docs", out, runbooks)
    text = (out / "clients" / f"{EVIL}.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    name = yaml.safe_load((runbooks / f"{EVIL}.yml").read_text())["client"]
    assert front["title"] == html.escape(name)
    assert front["search"] == {"boost": 4}


def test_runbook_generate_writes_the_folder_mkdocs_yml_names(
    tmp_path: Path, runbooks: Path
) -> None:
    out = tmp_path / "docs"
    result = run_cli("generate", "--no-handouts", "--out", str(out), "--runbooks", str(runbooks))
    assert result.code == 0, result.err
    assert (out / "clients" / "northwind-traders.md").is_file()
    (runbooks / "harbor-dental.yml").write_text("client: [broken\n")
    result = run_cli("generate", "--no-handouts", "--out", str(out), "--runbooks", str(runbooks))
    assert result.code == 2 and "harbor-dental.yml:2:1:" in result.err
    assert "Traceback" not in result.err


def test_zensical_builds_every_client_page(tmp_path: Path, runbooks: Path) -> None:
    """The same mkdocs.yml, the folder generated first, then Zensical (which skips hooks)."""
    zensical = Path(sys.executable).parent / "zensical"
    assert zensical.exists(), "zensical is a test dependency: make test installs it"
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(ROOT / "overrides", project / "overrides")
    shutil.copytree(ROOT / "docs", project / "docs")
    config = yaml.safe_load((project / "mkdocs.yml").read_text())
    generate(project / "docs", project / config["docs_dir"], runbooks, display_root=project)
    result = subprocess.run(
        [str(zensical), "build"],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = project / config["site_dir"]
    for path in sorted(runbooks.glob("*.yml")):
        page = site / "clients" / path.stem / "index.html"
        assert page.is_file(), path.stem
        name = yaml.safe_load(path.read_text())["client"]
        text = page.read_text()
        assert f"<title>{html.escape(name)} - Cutover Runbooks</title>" in text  # escaped once
        assert "<script>alert" not in text
        assert (site / "clients" / path.stem / "validports.reg").is_file()
    home = (site / "index.html").read_text()
    assert all(f"clients/{p.stem}/" in home for p in runbooks.glob("*.yml"))
    assert "<script>alert" not in home
