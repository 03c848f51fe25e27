"""MkDocs hook: adds the client pages, their downloads and the generated reference.

A thin face over `generator.site` (DESIGN.md): nothing is written into `docs/`. `mkdocs serve`
rebuilds when a client file changes. A bad client file stops the build with its
`file:line:col` problems. `extra.bundle_slug` in the configuration limits the site to one
client, for the offline bundle. A build happens beside `site_dir` and is swapped in only
when it succeeded (`generator.publish`).
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import CountHandler

from generator import publish, site
from generator.errors import UserError, io_error

CLIENTS_MARKER = "<!-- clients -->"
CLIENT_SEARCH_BOOST = 4
_pages: list[site.ClientPage] = []
_build: dict[str, Any] = {}  # this build's target, build folder, warnings and inputs


def on_startup(command: str, dirty: bool) -> None:
    """`mkdocs serve` builds into its own temporary folder: no swap there."""
    _build["command"] = command


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Build beside the real site folder, so a failed build never touches it."""
    if _build.get("command") == "serve":
        return config
    target = Path(config.site_dir)
    try:
        built = publish.building_dir(target)
    except UserError as exc:
        raise PluginError(str(exc)) from None
    warnings = CountHandler()
    warnings.setLevel(logging.WARNING)
    logging.getLogger("mkdocs").addHandler(warnings)
    # SIGTERM unwinds like Ctrl-C: handout workers are stopped and the build folder removed
    undo_sigterm = publish.catch_sigterm()
    _build.update(target=target, built=built, warnings=warnings, undo_sigterm=undo_sigterm)
    _build["bundle"] = bool(config.extra.get("bundle_slug"))  # the bundle reports its own
    config.site_dir = str(built)
    return config


def runbooks_dir(config: MkDocsConfig) -> Path:
    """The client files: `extra.runbooks_dir`, RUNBOOKS_DIR, or `runbooks/` by mkdocs.yml."""
    root = Path(config.config_file_path).parent
    given = config.extra.get("runbooks_dir") or os.environ.get("RUNBOOKS_DIR")
    return Path(given) if given else root / "runbooks"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Render every client and add its page, its downloads and the reference page."""
    only = config.extra.get("bundle_slug")
    if any(name.endswith("offline") for name in config.plugins):
        # an offline bundle opens from the file system: it has no address to name as
        # canonical, and its pages must not point at the published site (set before the
        # pages are made, which read it)
        config.site_url = None
    try:
        pages = site.collect(runbooks_dir(config), Path(config.config_file_path).parent, only)
        generated = {
            "reference/client-file.md": site.reference_page(),
            "reference/check-scripts.md": site.scripts_page(),
        }
    except UserError as exc:
        raise PluginError("invalid client files:\n" + "\n".join(exc.lines())) from None
    _pages[:] = pages
    _build["inputs"] = publish.fingerprint([p.path for p in pages])
    for page in pages:
        generated[f"clients/{page.values.slug}.md"] = page.markdown
    blobs: dict[str, bytes] = dict(site.check_scripts())
    for page in pages:
        blobs.update(site.downloads(page))
    for path, text in generated.items():
        files.append(File.generated(config, path, content=text))
    for path, data in blobs.items():
        files.append(File.generated(config, path, content=data))
    if os.environ.get("RUNBOOK_HANDOUTS", "on") != "off":  # `make bench` times the site alone
        try:
            pdfs = site.handouts(pages, handout_cache(config))
        except UserError as exc:  # e.g. a full or read-only handout cache
            raise PluginError("\n".join(exc.lines())) from None
        for pdf in pdfs:
            files.append(File.generated(config, f"handouts/{pdf.name}", abs_src_path=str(pdf)))
    return files


def handout_cache(config: MkDocsConfig) -> Path:
    """Where handouts are built and kept between builds, outside the site folder:
    RUNBOOK_HANDOUT_CACHE, or `.cache/handouts` beside mkdocs.yml."""
    given = os.environ.get("RUNBOOK_HANDOUT_CACHE")
    return Path(given) if given else Path(config.config_file_path).parent / ".cache" / "handouts"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Give client pages a safe title; fill the home page's client table."""
    by_uri = {f"clients/{p.values.slug}.md": p for p in _pages}
    if page.file.src_uri in by_uri:
        # Material writes page titles into <title>, the navigation and search results
        # without escaping them: the client's name is free text, so it is escaped here.
        page.meta["title"] = html.escape(by_uri[page.file.src_uri].values.client)
        # a client's page ranks above the guides for its own names (its "Names" line)
        page.meta["search"] = {"boost": CLIENT_SEARCH_BOOST}
    if page.file.src_uri == "index.md" and CLIENTS_MARKER in markdown:
        try:
            table = site.home_table(_pages)
        except UserError as exc:
            raise PluginError("\n".join(exc.lines())) from None
        return markdown.replace(CLIENTS_MARKER, table)
    return markdown


@event_priority(-200)  # after search and offline have written their files
def on_post_build(config: MkDocsConfig) -> None:
    """Swap the finished build in, unless its inputs changed or strict mode will fail it."""
    if "built" not in _build:
        return
    gone = publish.changed(_build.get("inputs", {}))
    if gone:
        names = ", ".join(str(p) for p in gone)
        raise PluginError(f"{names} changed during the build; nothing was published, build again")
    if config.strict and _build["warnings"].get_counts():
        return  # MkDocs aborts next; on_build_error discards the folder
    try:
        publish.swap_in(_build["built"], _build["target"])
    except UserError as exc:
        raise PluginError(str(exc)) from None
    config.site_dir = str(_build["target"])
    _finish()


def on_build_error(error: Exception) -> None:
    """Throw the unfinished build away; the previous site stays.

    An I/O error (a full disk while MkDocs writes the site) becomes one line, not a traceback.
    """
    built = _build.get("built")
    target = _build.get("target")
    quiet = _build.get("bundle", False)
    if built is not None:
        publish.discard(built)
    _finish()
    if isinstance(error, OSError):
        names = [os.fsdecode(n) for n in (error.filename, error.filename2) if n is not None]
        if built is not None and any(Path(n).is_relative_to(built) for n in names):
            message = str(io_error(target, error, "cannot write the site"))
        else:
            message = str(io_error(names[0] if names else None, error, "cannot read or write"))
        if not quiet:
            logging.getLogger("mkdocs").error(message)
        raise Abort("Aborted with an I/O error; the previous site is unchanged")


def on_shutdown() -> None:
    """After an interrupt (Ctrl-C, SIGTERM) MkDocs skips `on_build_error`: clean up here."""
    if "built" in _build:
        publish.discard(_build["built"])
    _finish()


def _finish() -> None:
    """Forget this build's state, keeping only the command."""
    handler = _build.get("warnings")
    if handler is not None:
        logging.getLogger("mkdocs").removeHandler(handler)
    undo_sigterm = _build.get("undo_sigterm")
    if undo_sigterm is not None:
        undo_sigterm()
    command = _build.get("command")
    _build.clear()
    if command:
        _build["command"] = command


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """Rebuild when a client file changes."""
    server.watch(str(runbooks_dir(config)))
    return server
