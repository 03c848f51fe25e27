"""The search index's entries for each page kept between builds: a page whose HTML did not
change is not read again.

The theme's search plugin (`material/search`) reads every page's HTML with `html.parser` on
every build to cut it into sections: at a hundred clients that is over half of a build after
the Markdown conversions are kept (`converted.py`), and a client page's HTML changes only when
its client file (or the generator) does. The plugin has no such cache, so the hook keeps one:
the plugin's index is given, for this build only, its own `add_entry_from_context` that looks
the page up first; on a hit the kept entries are appended to the index exactly as the plugin
would have appended them, on a miss the plugin reads the page and what it appended is kept.
Everything else the plugin does (dropping the `data-search-*` attributes from the page,
writing the index) is its own, so the index is the same bytes as a full build's.

The key is the hash of everything the index reads of a page: its HTML, address, title, the
search settings of its front matter (`search`, `title`, `tags`) and its table of contents
(each entry's id, address, title and entries), with the plugin's settings, whether it splits
Chinese words (and with which jieba), and the versions of Python (`html.parser`), MkDocs and
the theme. Only the plugin this module was written against is kept for: another search
plugin reads every page as before.

Entries live in a folder beside the generated one (`build/.docs-search` for `build/docs`), one
per page, written atomically and pruned of pages the site no longer has after a full build.
They are pickles, as the conversions are: the folder is the project's own and only this module
writes it. An entry that cannot be read, or was made for another key, means reading again.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import platform
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

from generator.converted import entry_name, prune, read_entry, versions
from generator.publish import write_atomic

# The search plugin whose reading of a page this module keeps, by class: its index's list of
# entries is `entries` and `add_entry_from_context(page)` appends a page's to it.
PLUGIN = "material.plugins.search.plugin.SearchPlugin"
_LIBRARIES = ("mkdocs", "mkdocs-material", "jieba", "backrefs")  # backrefs: its segmenter
_DICTIONARIES = ("jieba_dict", "jieba_dict_user")  # settings naming files the segmenter reads
_META = ("search", "title", "tags")  # what the plugin reads of a page's front matter


def folder_for(generated: Path) -> Path:
    """Where the search entries of the site generated into `generated` are kept."""
    return generated.parent / f".{generated.name}-search"


def search_plugin(config: MkDocsConfig) -> Any | None:
    """The site's search plugin when it is the one this module knows, with its index made
    (the plugin is enabled); else None."""
    for plugin in config.plugins.values():
        kind = type(plugin)
        if f"{kind.__module__}.{kind.__qualname__}" == PLUGIN:
            index = getattr(plugin, "search_index", None)
            if isinstance(getattr(index, "entries", None), list):
                return plugin
    return None


@dataclass
class SearchEntries:
    """This build's lookups and stores, by page."""

    folder: Path
    settings: bytes
    seen: set[str] = field(default_factory=set)
    reused: int = 0
    stored: int = 0

    @classmethod
    def attach(cls, folder: Path, config: MkDocsConfig) -> SearchEntries | None:
        """Keep the entries the site's search plugin makes in this build, when it is the
        plugin this module knows; None otherwise (the plugin then reads every page)."""
        plugin = search_plugin(config)
        if plugin is None:
            return None
        index = plugin.search_index
        made = cls(folder, settings(index.config, sys.modules[type(plugin).__module__]))
        read = index.add_entry_from_context  # the plugin's own, bound to this index

        def add_entry_from_context(page: Page) -> None:
            made.add(page, index.entries, read)

        index.add_entry_from_context = add_entry_from_context  # this index, this build only
        return made

    def add(self, page: Page, entries: list[Any], read: Callable[[Page], None]) -> None:
        """Append `page`'s entries to the index's `entries`: the kept ones, or those `read`
        appends, then kept."""
        uri = page.file.src_uri
        self.seen.add(uri)
        key = page_key(self.settings, page)
        path = self.folder / entry_name(uri)
        found = _read(path, key)
        if found is not None:
            entries.extend(found)
            self.reused += 1
            return
        start = len(entries)
        read(page)
        data = key.encode() + pickle.dumps(entries[start:], protocol=pickle.HIGHEST_PROTOCOL)
        with contextlib.suppress(Exception):  # a cache that cannot be written is no cache
            write_atomic(path, lambda f: f.write(data), durable=False)
            self.stored += 1

    def prune(self) -> None:
        """Remove the entries of pages this build no longer has (after a full build)."""
        prune(self.folder, self.seen)


def settings(config: dict[str, Any], module: Any) -> bytes:
    """What every page's entries depend on besides the page: the plugin's settings, whether it
    segments Chinese text, and the versions of what reads and writes them."""
    dictionaries = []
    for name in _DICTIONARIES:
        path = config.get(name)
        try:
            data = Path(path).read_bytes() if path else b""
        except OSError:
            data = b"unreadable"
        dictionaries.append(f"{name}={hashlib.sha256(data).hexdigest()}")
    parts = (
        PLUGIN,
        *dictionaries,
        platform.python_implementation(),
        platform.python_version(),
        *versions(_LIBRARIES),
        f"jieba={getattr(module, 'jieba', None) is not None}",
        repr(sorted(config.items(), key=lambda kv: kv[0])),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest().encode()


def page_key(settings: bytes, page: Page) -> str:
    """The hash of everything the search index reads of `page`, with `settings`."""
    meta = page.meta or {}
    parts = (
        page.url,
        page.content or "",
        repr(page.title),
        repr([(name, meta.get(name)) for name in _META if name in meta]),
        repr(_toc(page.toc)),
    )
    digest = hashlib.sha256(settings)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _toc(items: Iterable[Any]) -> list[tuple[Any, ...]]:
    """A table of contents as the index reads it: each entry's id, address, title and
    entries."""
    return [(item.id, item.url, item.title, _toc(item.children)) for item in items]


def _read(entry: Path, key: str) -> list[Any] | None:
    """The entries kept in `entry` if they were made for `key`; None: read the page again."""
    found = read_entry(entry, key)
    if isinstance(found, list) and all(isinstance(e, dict) for e in found):
        return found
    return None
