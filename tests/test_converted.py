"""Kept Markdown conversions (generator/converted.py): a page whose Markdown did not change is
not converted again, and nothing a reader or MkDocs sees differs from a full conversion."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from generator.converted import Conversions, entry_name, folder_for
from tests.conftest import FIXTURE_CLIENTS, ROOT, mkdocs_args, site_env

PAGE = """# Cutover

## Step 1: Lower the TTL { #step-1 }

Set `mail.example.com` to 300 s; see [step 1](#step-1).

```text
nslookup -type=MX example.com
```
"""


def _config(docs: Path) -> MkDocsConfig:
    config = load_config(str(ROOT / "mkdocs.yml"))
    config.docs_dir = str(docs)
    return config


def _site(docs: Path, pages: dict[str, str]) -> tuple[MkDocsConfig, Files]:
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (docs / name).write_text(text, encoding="utf-8")
    config = _config(docs)
    files = Files([File(n, str(docs), str(docs.parent / "site"), True) for n in pages])
    return config, files


def _convert(conversions: Conversions, files: Files, config: MkDocsConfig, name: str) -> Page:
    """One page through the steps of a MkDocs build: read, before, convert, after."""
    page = Page(None, files.get_file_from_path(name), config)
    page.read_source(config)
    assert page.markdown is not None
    page.markdown = conversions.before(page.markdown, page)
    page.render(config, files)
    assert page.content is not None
    page.content = conversions.after(page.content, page)
    return page


def _seen(page: Page) -> tuple[object, ...]:
    return (
        page.content,
        [(t.title, t.id, t.level, len(t.children)) for t in page.toc],
        page.title,
        page.present_anchor_ids,
    )


def test_a_kept_conversion_gives_the_page_mkdocs_would_make(tmp_path: Path) -> None:
    config, files = _site(tmp_path / "docs", {"a.md": PAGE, "b.md": "# B\n\nSee [A](a.md).\n"})
    folder = tmp_path / "kept"
    first = Conversions.start(folder, config, files)
    try:
        made = {n: _seen(_convert(first, files, config, n)) for n in ("a.md", "b.md")}
    finally:
        first.close()
    assert first.stored == 2 and sorted(p.name for p in folder.iterdir()) == sorted(
        entry_name(n) for n in ("a.md", "b.md")
    )
    again = Conversions.start(folder, config, files)
    try:
        for name in ("a.md", "b.md"):
            page = Page(None, files.get_file_from_path(name), config)
            page.read_source(config)
            assert page.markdown is not None
            assert again.before(page.markdown, page) == ""  # nothing left to convert
            page.render(config, files)
            assert page.content is not None
            page.content = again.after(page.content, page)
            assert _seen(page) == made[name]
        assert again.stored == 0
    finally:
        again.close()
    assert "step-1" in made["a.md"][3]  # type: ignore[operator]


def _once(folder: Path, config: MkDocsConfig, docs: Path, names: list[str], page: str) -> int:
    """Convert `page` in a build of the files `names`; how many conversions were stored."""
    files = Files([File(n, str(docs), str(docs.parent / "site"), True) for n in names])
    conversions = Conversions.start(folder, config, files)
    try:
        _convert(conversions, files, config, page)
    finally:
        conversions.close()
    return conversions.stored


def test_a_page_is_converted_again_when_it_or_a_file_it_links_to_changes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    config, _ = _site(docs, {"a.md": PAGE, "b.md": "# B\n\nSee [A](a.md) and [C](c.md).\n"})
    (docs / "c.md").write_text("# C\n", encoding="utf-8")
    (docs / "guides").mkdir()
    (docs / "guides" / "c.md").write_text("# C\n", encoding="utf-8")
    folder = tmp_path / "kept"
    both = ["a.md", "b.md", "c.md"]
    assert _once(folder, config, docs, both, "b.md") == 1
    assert _once(folder, config, docs, both, "b.md") == 0  # kept
    assert _once(folder, config, docs, [*both, "d.md"], "b.md") == 0  # a file it never names
    (docs / "d.md").write_text("# D\n", encoding="utf-8")
    assert _once(folder, config, docs, [*both, "d.md"], "b.md") == 0
    # c.md now published under another address (not at the root): the link is made again
    moved = ["a.md", "b.md", "guides/c.md"]
    (docs / "c.md").unlink()
    (docs / "b.md").write_text("# B\n\nSee [A](a.md) and [C](guides/c.md).\n", encoding="utf-8")
    assert _once(folder, config, docs, moved, "b.md") == 1  # its Markdown changed
    assert _once(folder, config, docs, moved, "b.md") == 0
    (docs / "a.md").write_text(PAGE.replace("300 s", "3600 s"), encoding="utf-8")
    assert _once(folder, config, docs, moved, "a.md") == 1  # a's own Markdown changed


def test_a_kept_page_whose_linked_file_is_gone_is_converted_again(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    config, _ = _site(docs, {"a.md": PAGE, "b.md": "# B\n\nSee [A](a.md).\n"})
    folder = tmp_path / "kept"
    assert _once(folder, config, docs, ["a.md", "b.md"], "b.md") == 1
    files = Files([File("b.md", str(docs), str(tmp_path / "site"), True)])
    conversions = Conversions.start(folder, config, files)
    try:
        page = Page(None, files.get_file_from_path("b.md"), config)
        page.read_source(config)
        assert page.markdown is not None
        assert conversions.before(page.markdown, page) == page.markdown  # not kept: convert
    finally:
        conversions.close()


def test_a_conversion_that_warned_is_never_kept(tmp_path: Path) -> None:
    config, files = _site(tmp_path / "docs", {"a.md": "# A\n\nSee [gone](missing.md).\n"})
    folder = tmp_path / "kept"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(logging.WARNING)
    logging.getLogger("mkdocs").addHandler(keep)
    try:
        for _ in range(2):  # warned both times: strict mode fails on the second build too
            conversions = Conversions.start(folder, config, files)
            try:
                _convert(conversions, files, config, "a.md")
            finally:
                conversions.close()
            assert conversions.stored == 0
    finally:
        logging.getLogger("mkdocs").removeHandler(keep)
    assert sum("missing.md" in r.getMessage() for r in records) == 2


def test_a_torn_or_foreign_entry_is_converted_again(tmp_path: Path) -> None:
    config, files = _site(tmp_path / "docs", {"a.md": PAGE})
    folder = tmp_path / "kept"
    folder.mkdir()
    for garbage in (b"", b"x" * 64 + b"not a pickle", b"0" * 64):
        (folder / entry_name("a.md")).write_bytes(garbage)
        conversions = Conversions.start(folder, config, files)
        try:
            page = _convert(conversions, files, config, "a.md")
        finally:
            conversions.close()
        assert "mail.example.com" in (page.content or "") and conversions.stored == 1


def _build(site: Path, runbooks: Path, handouts: bool = False) -> None:
    env = site_env(site, runbooks)
    if not handouts:
        env["RUNBOOK_HANDOUTS"] = "off"
    env["RUNBOOK_DOCS_DIR"] = str(site.parent / "docs")  # one generated folder for every build
    done = subprocess.run(
        mkdocs_args(site), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


def _files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_a_second_build_is_the_same_site_and_an_edit_converts_its_page(
    tmp_path: Path, runbooks: Path
) -> None:
    _build(tmp_path / "one", runbooks)
    kept = folder_for(tmp_path / "docs")
    entries = {p.name: p.stat().st_mtime_ns for p in kept.iterdir()}
    assert entry_name("clients/harbor-dental.md") in entries
    _build(tmp_path / "two", runbooks)
    assert _files(tmp_path / "two") == _files(tmp_path / "one")
    assert {p.name: p.stat().st_mtime_ns for p in kept.iterdir()} == entries  # none made again
    client = runbooks / "harbor-dental.yml"
    client.write_text(client.read_text().replace("Harbor Dental Group", "Harbour Dental Group"))
    _build(tmp_path / "three", runbooks)
    after = {p.name: p.stat().st_mtime_ns for p in kept.iterdir()}
    changed = {name for name in entries if after[name] != entries[name]}
    assert entry_name("clients/harbor-dental.md") in changed
    assert entry_name("clients/northwind-traders.md") not in changed
    page = (tmp_path / "three" / "clients" / "harbor-dental" / "index.html").read_text()
    assert "Harbour Dental Group" in page
    index = tmp_path / "three" / "search" / "search_index.json"
    assert "Harbour Dental Group" in index.read_text()
    client.unlink()
    _build(tmp_path / "four", runbooks)
    assert entry_name("clients/harbor-dental.md") not in {p.name for p in kept.iterdir()}


def test_adding_a_client_converts_only_its_page_and_the_home_page(
    tmp_path: Path, runbooks: Path
) -> None:
    # with handouts (from the project's cache, as the site tests build them): every link of a
    # client page then names a file of the site, so its entry depends on those files alone
    _build(tmp_path / "one", runbooks, handouts=True)
    kept = folder_for(tmp_path / "docs")
    entries = {p.name: p.stat().st_mtime_ns for p in kept.iterdir()}
    shutil.copy(FIXTURE_CLIENTS / "evil-corp.yml", runbooks / "evil-corp.yml")
    _build(tmp_path / "two", runbooks, handouts=True)
    after = {p.name: p.stat().st_mtime_ns for p in kept.iterdir()}
    made = {name for name in after if entries.get(name) != after[name]}
    assert made == {entry_name("clients/evil-corp.md"), entry_name("index.md")}
