"""The site's Markdown conversions kept between builds: a page whose Markdown did not change is
not converted again.

MkDocs converts every page on every build; at a hundred clients that is over half of a
build, and a client page's Markdown changes only when its client file (or the generator)
does. MkDocs has no such cache, so the hook keeps one: before a page is converted
(`on_page_markdown`, the last plugin to see the Markdown) its key is looked up, and on a hit
the page is given nothing to convert; after the conversion (`on_page_content`, the first to
see the HTML) the stored HTML, table of contents, title and anchors are put back, so the
search plugin, the theme and MkDocs' anchor validation see what a conversion would have made.

The key is the hash of everything a conversion reads: the page's Markdown and where it is,
the Markdown extensions and their options, the link settings and the validation levels, the
versions of MkDocs, Python-Markdown, its extensions and the theme, and the log level. A link
to another file of the site is checked and rewritten against that file, so an entry also
names the files its page links to, with their addresses, and is used only while each is
still there at that address; a link found in the HTML that names no file of the site makes
the entry depend on every file instead. Adding a client therefore converts only the pages
that changed (its own and the home page). A conversion that logged anything is never stored,
so its warnings come back on every build and strict mode still fails on them.

Entries live in a folder beside the generated one (`build/.docs-html` for `build/docs`), one
per page, written atomically and pruned of pages the site no longer has after a full build.
They are pickles: the folder is the project's own and only this module writes it. An entry
that cannot be read, or was made for another key, means converting again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import platform
import posixpath
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from generator.publish import write_atomic

_LIBRARIES = ("mkdocs", "markdown", "pymdown-extensions", "mkdocs-material")
_KEY_BYTES = 64  # a sha256 in hex, at the start of each entry
_LINK = re.compile(r'\b(?:href|src)="([^"]*)"')
_ABSOLUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|/|#)")  # a scheme, the root, an anchor


def folder_for(generated: Path) -> Path:
    """Where the conversions of the site generated into `generated` are kept."""
    return generated.parent / f".{generated.name}-html"


class _Count(logging.Handler):
    """Counts the records logged while a page is converted."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Conversions:
    """This build's lookups and stores, by page."""

    folder: Path
    settings: bytes
    files: Files
    every_file: bytes
    pending: dict[str, tuple[str, int]] = field(default_factory=dict)  # src_uri: key, count
    hits: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    stored: int = 0
    counter: _Count = field(default_factory=_Count)
    _urls: dict[str, File] | None = None

    @classmethod
    def start(
        cls, folder: Path, config: MkDocsConfig, files: Files, mode: str = "build"
    ) -> Conversions:
        """The conversions of one build over `files`; counts what is logged until `close`.
        `mode` keeps apart builds that log differently (the preview drops some warnings)."""
        made = cls(folder, settings(config, mode), files, every_file(files))
        for name in ("", "mkdocs"):  # MkDocs' own logger does not pass records up
            logging.getLogger(name).addHandler(made.counter)
        return made

    def close(self) -> None:
        """Stop counting log records (the build is over)."""
        for name in ("", "mkdocs"):
            logging.getLogger(name).removeHandler(self.counter)

    def entry(self, page: Page) -> Path:
        """The file holding `page`'s conversion."""
        return self.folder / entry_name(page.file.src_uri)

    def before(self, markdown: str, page: Page) -> str:
        """The Markdown MkDocs should convert: nothing when this conversion is kept."""
        uri = page.file.src_uri
        self.seen.add(uri)
        digest = hashlib.sha256(self.settings)
        for part in (uri.encode(), markdown.encode()):
            digest.update(len(part).to_bytes(8, "big") + part)
        key = digest.hexdigest()
        found = _read(self.entry(page), key)
        if found is not None and self._still_linked(found) and self._resolve(found):
            self.hits[uri] = found
            return ""
        self.pending[uri] = (key, self.counter.count)
        return markdown

    def after(self, html: str, page: Page) -> str:
        """The page's HTML: the kept one put back, or the new one, stored when nothing was
        logged while it was made."""
        uri = page.file.src_uri
        found = self.hits.pop(uri, None)
        if found is not None:
            return self._restore(page, found)
        key, count = self.pending.pop(uri, ("", -1))
        if not key or self.counter.count != count:
            return html
        kept = {
            "html": html,
            "toc": page.toc,
            "title": getattr(page, "_title_from_render", None),
            "anchors": page.present_anchor_ids,
            "links": None
            if page.links_to_anchors is None
            else {f.src_uri: links for f, links in page.links_to_anchors.items()},
        }
        targets = self._targets(html, page)
        kept["targets"] = targets
        kept["every_file"] = self.every_file if targets is None else b""
        data = key.encode() + pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
        with contextlib.suppress(Exception):  # a cache that cannot be written is no cache
            write_atomic(self.entry(page), lambda f: f.write(data), durable=False)
            self.stored += 1
        return html

    def _restore(self, page: Page, kept: dict[str, Any]) -> str:
        """Put a kept conversion's results on `page`; its HTML."""
        page.toc = kept["toc"]
        page._title_from_render = kept["title"]
        page.present_anchor_ids = kept["anchors"]
        if kept["links"] is not None:
            page.links_to_anchors = kept["links"]
        return str(kept["html"])

    def _targets(self, html: str, page: Page) -> list[tuple[str, str]] | None:
        """The site's files `html` links to, as (source path, address); None when a link
        names no file of the site (then the entry depends on every file)."""
        by_url = self._by_url()
        here = page.url if page.url.endswith("/") else posixpath.dirname(page.url) + "/"
        found: dict[str, str] = {}
        for link in _LINK.findall(html):
            if not link or _ABSOLUTE.match(link):
                continue  # the page itself, another site, the site's root, an anchor
            path = link.split("#", 1)[0].split("?", 1)[0]
            if not path:
                continue
            joined = posixpath.normpath(posixpath.join(here, path))
            if joined.startswith("../") or joined == "..":
                return None
            url = "./" if joined == "." else joined + ("/" if path.endswith("/") else "")
            target = by_url.get(url)
            if target is None:
                return None
            found[target.src_uri] = target.url
        return sorted(found.items())

    def _by_url(self) -> dict[str, File]:
        """The site's files by address."""
        if self._urls is None:
            self._urls = {f.url: f for f in self.files}
        return self._urls

    def _still_linked(self, kept: dict[str, Any]) -> bool:
        """Whether every file a kept page links to is still there at the same address."""
        targets = kept.get("targets")
        if targets is None:
            return bool(kept.get("every_file") == self.every_file)
        for uri, url in targets:
            found = self.files.get_file_from_path(uri)
            if found is None or found.url != url:
                return False
        return True

    def _resolve(self, kept: dict[str, Any]) -> bool:
        """Turn a kept entry's linked pages back into this build's files; False when one is
        missing (the file list is in the key, so only for an entry not made by this code)."""
        if kept.get("links") is None:
            return True
        resolved = {}
        for uri, anchors in kept["links"].items():
            found = self.files.get_file_from_path(uri)
            if found is None:
                return False
            resolved[found] = anchors
        kept["links"] = resolved
        return True

    def prune(self) -> None:
        """Remove the entries of pages this build no longer has (after a full build)."""
        prune(self.folder, self.seen)


def entry_name(uri: str) -> str:
    """The file name of the entry of the page at `uri`."""
    return hashlib.sha256(uri.encode()).hexdigest()[:32] + ".pkl"


def prune(folder: Path, seen: set[str]) -> None:
    """Remove from `folder` the entries of pages other than those at the addresses `seen`
    (the kept search entries' folder is pruned so too)."""
    keep = {entry_name(uri) for uri in seen}
    with contextlib.suppress(OSError):
        for path in folder.glob("*.pkl"):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def versions(libraries: tuple[str, ...]) -> list[str]:
    """`name=version` of each installed library (`name=none` when it is not)."""
    found = []
    for name in libraries:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=none")
    return found


def read_entry(entry: Path, key: str) -> Any:
    """What `entry` keeps if it was made for `key`, else None (also when it is missing,
    unreadable, torn or from another version): the caller checks its type."""
    try:
        with entry.open("rb") as stream:
            if stream.read(_KEY_BYTES) != key.encode():
                return None
            return pickle.load(stream)
    except Exception:
        return None


def settings(config: MkDocsConfig, mode: str) -> bytes:
    """What every conversion of this build depends on besides the page and the files."""
    parts = (
        mode,
        platform.python_version(),
        *versions(_LIBRARIES),
        repr(config["markdown_extensions"]),
        repr(sorted((config["mdx_configs"] or {}).items(), key=lambda kv: kv[0])),
        repr(config["use_directory_urls"]),
        repr(config["validation"]),
        repr(config["site_url"]),
        str(logging.getLogger("mkdocs").getEffectiveLevel()),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest().encode()


def every_file(files: Files) -> bytes:
    """A hash of the site's files and their addresses."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.src_uri):
        digest.update(f"\0{f.src_uri}\0{f.dest_uri}\0{f.url}\0{f.inclusion}".encode())
    return digest.hexdigest().encode()


def _read(entry: Path, key: str) -> dict[str, Any] | None:
    """The conversion kept in `entry` if it was made for `key`; None: convert again."""
    found = read_entry(entry, key)
    return found if isinstance(found, dict) else None
