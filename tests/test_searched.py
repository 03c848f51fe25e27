"""Kept search entries (generator/searched.py): a page whose HTML did not change is not read by
the search plugin again, and the search index is the bytes a full build writes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from generator.converted import entry_name
from generator.searched import SearchEntries, folder_for, search_plugin, settings
from tests.conftest import ROOT, mkdocs_args, site_env

PAGE = """# Cutover

Before the night: lower the TTL of `mail.example.com`.

## Step 1: Lower the TTL { #step-1 }

Set `mail.example.com` to 300 s.

```text
nslookup -type=MX example.com
```

## Step 2: Check { #step-2 data-search-exclude }

Not in the index.
"""


def _config(docs: Path) -> MkDocsConfig:
    """The site's configuration over `docs`, its search plugin set up (a fresh index)."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    config.docs_dir = str(docs)
    plugin = search_plugin_of(config)
    plugin.on_config(config)
    return config


def search_plugin_of(config: MkDocsConfig) -> Any:
    """The site's search plugin (material's), whatever the state of its index."""
    return config.plugins["material/search"]


def _page(docs: Path, config: MkDocsConfig, name: str, text: str) -> Page:
    """`text` as the page `name`, converted as a build converts it."""
    (docs / name).parent.mkdir(parents=True, exist_ok=True)
    (docs / name).write_text(text, encoding="utf-8")
    files = Files([File(name, str(docs), str(docs.parent / "site"), True)])
    page = Page(None, files.get_file_from_path(name), config)
    page.read_source(config)
    page.render(config, files)
    return page


def _plain(config: MkDocsConfig, page: Page) -> list[dict[str, Any]]:
    """The entries the search plugin itself makes of `page`."""
    plugin = search_plugin_of(config)
    plugin.on_config(config)  # a new index, not wrapped
    plugin.search_index.add_entry_from_context(page)
    return list(plugin.search_index.entries)


def _kept(config: MkDocsConfig, folder: Path, page: Page) -> tuple[list[Any], SearchEntries]:
    """The entries of `page` through a fresh build's kept entries in `folder`."""
    plugin = search_plugin_of(config)
    plugin.on_config(config)
    kept = SearchEntries.attach(folder, config)
    assert kept is not None
    plugin.search_index.add_entry_from_context(page)
    return list(plugin.search_index.entries), kept


def test_kept_entries_are_those_the_plugin_makes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    config = _config(docs)
    page = _page(docs, config, "a.md", PAGE)
    folder = tmp_path / "kept"
    plain = _plain(config, page)
    first, made = _kept(config, folder, page)
    assert (made.stored, made.reused) == (1, 0)
    again, used = _kept(config, folder, page)
    assert (used.stored, used.reused) == (0, 1)
    assert first == again == plain
    assert json.dumps(again) == json.dumps(plain)
    assert [e["location"] for e in plain] == ["a/", "a/#step-1"]  # step 2 is excluded
    assert sorted(p.name for p in folder.iterdir()) == [entry_name("a.md")]


def _nav_titled(page: Page) -> None:
    page.title = "Cutover night"  # as a title given in the navigation


def _retitled(page: Page) -> None:
    page.meta["title"] = "Another title"


def _tagged(page: Page) -> None:
    page.meta["tags"] = ["exchange"]


def _boosted(page: Page) -> None:
    page.meta["search"] = {"boost": 2}


def _moved(page: Page) -> None:
    page.file.url = "elsewhere/"


def _reworded(page: Page) -> None:
    assert page.content is not None
    page.content = page.content.replace("300 s", "3600 s")


def _toc_renamed(page: Page) -> None:
    page.toc.items[0].children[0].id = "step-one"  # the step's entry no longer named by it


def _toc_retitled(page: Page) -> None:
    page.toc.items[0].children[0].title = "Lower it"  # not read by this plugin, yet in the key


UNTITLED = PAGE.replace("# Cutover\n", "")  # its first section is titled by the page's title


@pytest.mark.parametrize(
    ("text", "change"),
    [
        (UNTITLED, _nav_titled),
        (PAGE, _retitled),
        (PAGE, _tagged),
        (PAGE, _boosted),
        (PAGE, _moved),
        (PAGE, _reworded),
        (PAGE, _toc_renamed),
        (PAGE, _toc_retitled),
    ],
)
def test_a_page_is_read_again_when_anything_the_index_reads_of_it_changes(
    tmp_path: Path, text: str, change: Callable[[Page], None]
) -> None:
    docs = tmp_path / "docs"
    config = _config(docs)
    folder = tmp_path / "kept"
    _kept(config, folder, _page(docs, config, "a.md", text))  # the unchanged page, kept
    page = _page(docs, config, "a.md", text)
    change(page)
    entries, kept = _kept(config, folder, page)
    assert (kept.stored, kept.reused) == (1, 0)
    assert entries == _plain(config, page)


def test_the_search_settings_are_in_the_key(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    config = _config(docs)
    folder = tmp_path / "kept"
    page = _page(docs, config, "a.md", PAGE)
    _kept(config, folder, page)
    search_plugin_of(config).config.separator = r"[\s\-]+"
    _, kept = _kept(config, folder, page)
    assert (kept.stored, kept.reused) == (1, 0)


def test_a_segmenter_dictionarys_content_is_in_the_key(tmp_path: Path) -> None:
    # the Chinese segmenter reads its dictionaries' files: a changed file, same path, is a
    # changed setting (the plugin needs jieba for them, which this project does not install,
    # so the settings are compared directly)
    words = tmp_path / "words.txt"
    words.write_text("一 1\n", encoding="utf-8")
    options = {"lang": ["zh"], "jieba_dict_user": str(words)}
    before = settings(options, None)
    assert settings(options, None) == before
    words.write_text("二 1\n", encoding="utf-8")
    assert settings(options, None) != before


def test_a_torn_or_foreign_entry_is_read_again(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    config = _config(docs)
    page = _page(docs, config, "a.md", PAGE)
    plain = _plain(config, page)
    folder = tmp_path / "kept"
    folder.mkdir()
    for garbage in (b"", b"x" * 64 + b"not a pickle", b"0" * 64):
        (folder / entry_name("a.md")).write_bytes(garbage)
        entries, kept = _kept(config, folder, page)
        assert entries == plain and (kept.stored, kept.reused) == (1, 0)


def test_another_search_plugin_reads_every_page(tmp_path: Path) -> None:
    config = _config(tmp_path / "docs")
    plugin = search_plugin_of(config)
    config.plugins["material/search"] = type("Other", (type(plugin),), {})()  # not the known one
    assert search_plugin(config) is None
    assert SearchEntries.attach(tmp_path / "kept", config) is None


def _build(site: Path, runbooks: Path, docs: Path) -> None:
    env = site_env(site, runbooks, RUNBOOK_HANDOUTS="off", RUNBOOK_DOCS_DIR=str(docs))
    done = subprocess.run(
        mkdocs_args(site), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


def _files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_a_build_after_an_edit_is_the_site_a_build_without_kept_entries_makes(
    tmp_path: Path, runbooks: Path
) -> None:
    docs = tmp_path / "docs"
    _build(tmp_path / "one", runbooks, docs)
    kept = folder_for(docs)
    before = _stamps(kept)
    assert entry_name("clients/harbor-dental.md") in before
    client = runbooks / "harbor-dental.yml"
    client.write_text(client.read_text().replace("Harbor Dental Group", "Harbour Dental Group"))
    _build(tmp_path / "two", runbooks, docs)  # every other page's entries kept
    after = _stamps(kept)
    made = {name for name in after if before.get(name) != after[name]}
    assert made == {entry_name("clients/harbor-dental.md"), entry_name("index.md")}
    index = json.loads((tmp_path / "two" / "search" / "search_index.json").read_text())
    texts = [f"{e['title']} {e['text']}" for e in index["docs"]]
    assert any("Harbour Dental Group" in t for t in texts)
    assert not any("Harbor Dental Group" in t for t in texts)
    # the same client files, nothing kept: a full build
    fresh = tmp_path / "fresh" / "docs"
    _build(tmp_path / "three", runbooks, fresh)
    assert len(_stamps(folder_for(fresh))) == len(after)  # every page read, none reused
    assert _files(tmp_path / "two") == _files(tmp_path / "three")
    # a client removed: its entry goes with it
    client.unlink()
    _build(tmp_path / "four", runbooks, docs)
    assert entry_name("clients/harbor-dental.md") not in _stamps(kept)
