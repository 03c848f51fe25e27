"""MkDocs hook: generates the engine's input folder first, then lets MkDocs build it.

A thin face over `generator.generate` (DESIGN.md, stage "publish"): the client pages, their
downloads, the reference and the handouts are written into `docs_dir` (`build/docs`) before
MkDocs reads it, so Zensical, which ignores hooks, builds the same site after `runbook
generate`. A bad client file stops the build with its `file:line:col` problems; under `mkdocs
serve` it gets a page showing them instead, and the other clients keep working.
`extra.bundle_slug` limits the site to one client, for the offline bundle. A build happens
beside `site_dir` and is swapped in only when it succeeded (`generator.publish`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import CountHandler

from generator import generate, preview, publish
from generator.clients import client_files
from generator.converted import Conversions, folder_for
from generator.errors import UserError, io_error
from generator.searched import SearchEntries
from generator.searched import folder_for as search_folder_for

_IO_ABORT = "Aborted with an I/O error; the previous site is unchanged"
_build: dict[str, Any] = {}  # this build's target, build folder, warnings and inputs
_converting: list[Conversions] = []  # this build's kept Markdown conversions (converted.py)
_searching: list[SearchEntries] = []  # this build's kept search entries (searched.py)


def on_startup(command: str, dirty: bool) -> None:
    """`mkdocs serve` builds into its own temporary folder: no swap there."""
    _build["command"] = command
    if command == "serve":
        logging.getLogger("mkdocs.commands.build").addFilter(_dirty_build)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Generate the input folder, and build beside the real site folder, so a failed build
    never touches it."""
    serving = _build.get("command") == "serve"
    if not serving:
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
    if any(name.endswith("offline") for name in config.plugins):
        # an offline bundle opens from the file system: it has no address to name as
        # canonical, and its pages must not point at the published site (set before the
        # pages are made, which read it)
        config.site_url = None
    root = Path(config.config_file_path).parent
    out = generated_dir(config)
    if not serving:
        try:
            _build["release"] = generate.hold(out)  # until this build is over
        except UserError as exc:
            raise PluginError(str(exc)) from None
    handouts_off = serving or os.environ.get("RUNBOOK_HANDOUTS") == "off"
    handouts = None if handouts_off else handout_cache(config)
    try:
        done = generate.generate(
            root / "docs",
            out,
            runbooks_dir(config),
            display_root=root,
            only=config.extra.get("bundle_slug"),
            handout_cache=handouts,
            show_errors=serving,
        )
    except UserError as exc:
        if isinstance(exc.__context__, OSError):  # a full disk, a read-only folder
            if not _build.get("bundle"):  # the bundle reports its own
                logging.getLogger("mkdocs").error(str(exc))
            raise Abort(_IO_ABORT) from exc.__context__
        raise PluginError("invalid client files:\n" + "\n".join(exc.lines())) from None
    _build["inputs"] = done.inputs
    config.docs_dir = str(out)
    if serving:
        _report_broken(done.broken, runbooks_dir(config), root)
        # never in the way of the page: built after it, by a process of lower priority, and
        # copied into the served folder; until then their links lead nowhere, as expected
        logging.getLogger("mkdocs.structure.pages").addFilter(_handout_links)
        if os.environ.get("RUNBOOK_HANDOUTS") != "off":
            where = Path(config.site_dir)
            preview.handouts_later(runbooks_dir(config), handout_cache(config), where)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Start this build's lookups of kept conversions and search entries, now that the site's
    files are known (and the search plugin has made this build's index)."""
    _stop_converting()
    generated = generated_dir(config)
    mode = _build.get("command") or "build"  # the preview drops some warnings: kept apart
    _converting.append(Conversions.start(folder_for(generated), config, files, mode))
    searching = SearchEntries.attach(search_folder_for(generated), config)
    if searching is not None:
        _searching.append(searching)
    return files


@event_priority(-200)  # after every plugin that changes the Markdown
def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Nothing left to convert when this page's conversion is kept from an earlier build."""
    return _converting[0].before(markdown, page) if _converting else markdown


@event_priority(200)  # before every plugin that reads the HTML
def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """The kept conversion put back, or the new one kept."""
    return _converting[0].after(html, page) if _converting else html


# White space between two block-level tags: it prints nothing, yet every page carries it
# (1.7 KB of a client's page). Text inside `<pre>` holds no block tags, so it is never touched.
_BLOCK = (
    r"</?(?:html|head|body|meta|link|script|title|header|footer|main|nav|article|aside|section"
    r"|div|p|ul|ol|li|table|thead|tbody|tr|h[1-6]|figure|figcaption|pre|blockquote|hr)\b[^>]*>"
)
_BETWEEN_BLOCKS = re.compile(rf"({_BLOCK})\s+(?={_BLOCK})")
# Where white space is shown as written (code, by the stylesheet too) or is code itself
_KEEPS_SPACE = re.compile(
    r"(<(pre|code|script|style|textarea)\b.*?</\2>)", re.DOTALL | re.IGNORECASE
)
_INDENTED_LINE = re.compile(r"\n[ \t\n]+")


@event_priority(-200)  # the page as written: search has read its content already
def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """The page without the white space between block-level tags, and without the bare
    `<section>` elements that only kept their blocks out of the search index, which has read
    them now (`page.quiet`): a smaller site, 1.4 KB a client page. Every section of a page
    must be bare for that, or none is touched: a closing tag then belongs to a bare one."""
    output = _BETWEEN_BLOCKS.sub(r"\1", output)
    # the theme's navigation is written indented, line by line (2 KB a client page): a run of
    # white space holding a line break shows as one space, as does a single line break
    parts = _KEEPS_SPACE.split(output)
    output = "".join(
        _INDENTED_LINE.sub("\n", part) if i % 3 == 0 else part
        for i, part in enumerate(parts)
        if i % 3 != 2
    )
    bare = output.count("<section>")
    if bare and bare == output.count("<section") and bare == output.count("</section>"):
        output = output.replace("<section>", "").replace("</section>", "")
    return output


def _stop_converting() -> None:
    """Forget the conversions and search entries of the last build (MkDocs' server builds
    again and again)."""
    while _converting:
        _converting.pop().close()
    _searching.clear()


def _dirty_build(record: logging.LogRecord) -> bool:
    """In the preview: drop MkDocs' warning that a dirty build leads to inaccurate navigation.
    The hook regenerates every page a change touches (a generated file is written when its
    bytes change, and only then rendered again) and the clients are not in the navigation, so
    the warning is false here and would only alarm whoever reads the terminal."""
    return not record.getMessage().startswith("A 'dirty' build is being performed")


_reported: dict[str, tuple[str, ...]] = {}  # the preview's broken files, as last named


def _report_broken(broken: dict[str, list[str]], folder: Path, root: Path) -> None:
    """In the preview: a terminal line for a client file with errors, when it breaks or its
    problems change, and one when it is mended; its page shows them, but the consultant may
    be looking at the terminal. The preview builds again after every save of any file, and a
    line repeated at each build would bury the one that is new."""
    files = {p.stem: p for p in client_files(folder)}

    def shown(slug: str) -> Path:
        path = files.get(slug, folder / f"{slug}.yml")
        with contextlib.suppress(ValueError):  # outside the project: the path as given
            path = path.resolve().relative_to(root.resolve())
        return path

    log = logging.getLogger("mkdocs")
    for slug in sorted(set(_reported) - set(broken)):
        del _reported[slug]
        if slug in files:  # mended, not deleted
            log.info(f"{shown(slug)}: no problems now")
    for slug, problems in sorted(broken.items()):
        if _reported.get(slug) == tuple(problems):
            continue
        _reported[slug] = tuple(problems)
        count = len(problems)
        log.warning(
            f"{shown(slug)}: {count} problem{'s' * (count != 1)}, shown on its page "
            f"(clients/{slug}/)"
        )


def _handout_links(record: logging.LogRecord) -> bool:
    """In the preview: drop the warnings about handout links (the PDFs come later)."""
    message = record.getMessage()
    return not ("handouts/" in message and ".pdf" in message and "not found" in message)


def generated_dir(config: MkDocsConfig) -> Path:
    """Where the engine's input is generated: `extra.generated_dir` (a bundle's), or
    RUNBOOK_DOCS_DIR, or `docs_dir` of mkdocs.yml."""
    given = config.extra.get("generated_dir") or os.environ.get("RUNBOOK_DOCS_DIR")
    return Path(given) if given else Path(config.docs_dir)


def runbooks_dir(config: MkDocsConfig) -> Path:
    """The client files: `extra.runbooks_dir`, RUNBOOKS_DIR, or `runbooks/` by mkdocs.yml."""
    root = Path(config.config_file_path).parent
    given = config.extra.get("runbooks_dir") or os.environ.get("RUNBOOKS_DIR")
    return Path(given) if given else root / "runbooks"


def handout_cache(config: MkDocsConfig) -> Path:
    """Where handouts are built and kept between builds, outside the site folder:
    RUNBOOK_HANDOUT_CACHE, or `.cache/handouts` beside mkdocs.yml."""
    given = os.environ.get("RUNBOOK_HANDOUT_CACHE")
    return Path(given) if given else Path(config.config_file_path).parent / ".cache" / "handouts"


@event_priority(-200)  # after search and offline have written their files
def on_post_build(config: MkDocsConfig) -> None:
    """Swap the finished build in, unless its inputs changed or strict mode will fail it."""
    if "built" not in _build:
        return
    _prune_theme_assets(Path(config.site_dir), config)
    if _converting:
        _converting[0].prune()  # a full build saw every page
    if _searching:
        _searching[0].prune()
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


def _prune_theme_assets(site_dir: Path, config: MkDocsConfig) -> None:
    """Leave out what the theme ships that no page of this site loads: source maps (for
    debugging the theme's scripts) and search support for other languages than the site's
    (about 2 MB of every build)."""
    scripts = site_dir / "assets" / "javascripts"
    for path in scripts.rglob("*.map"):
        path.unlink()
    lang = config.theme.get("language", "en")
    search = next((p for name, p in config.plugins.items() if name.endswith("search")), None)
    languages = set(getattr(search, "config", {}).get("lang") or [lang])
    if languages <= {"en"}:  # English is built into the search worker
        shutil.rmtree(scripts / "lunr", ignore_errors=True)


def on_build_error(error: Exception) -> None:
    """Throw the unfinished build away; the previous site stays.

    An I/O error (a full disk while MkDocs writes the site) becomes one line, not a traceback.
    """
    built = _build.get("built")
    target = _build.get("target")
    quiet = _build.get("bundle", False)
    _discard()
    if isinstance(error, OSError):
        names = [os.fsdecode(n) for n in (error.filename, error.filename2) if n is not None]
        if built is not None and any(Path(n).is_relative_to(built) for n in names):
            message = str(io_error(target, error, "cannot write the site"))
        else:
            message = str(io_error(names[0] if names else None, error, "cannot read or write"))
        if not quiet:
            logging.getLogger("mkdocs").error(message)
        raise Abort(_IO_ABORT)


def on_shutdown() -> None:
    """After an interrupt (Ctrl-C, SIGTERM) MkDocs skips `on_build_error`: clean up here."""
    _discard()


def _discard() -> None:
    """Throw this build's folder away and forget the build."""
    if "built" in _build:
        publish.discard(_build["built"])
    _finish()


def _finish() -> None:
    """Forget this build's state, keeping only the command."""
    _stop_converting()
    handler = _build.get("warnings")
    if handler is not None:
        logging.getLogger("mkdocs").removeHandler(handler)
    undo_sigterm = _build.get("undo_sigterm")
    if undo_sigterm is not None:
        undo_sigterm()
    release = _build.get("release")
    if release is not None:
        release()
    command = _build.get("command")
    _build.clear()
    if command:
        _build["command"] = command


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """Rebuild when a client file or a hand-written page changes; not when the generated
    folder does (each build writes it)."""
    server.unwatch(str(generated_dir(config)))
    server.watch(str(Path(config.config_file_path).parent / "docs"))
    server.watch(str(runbooks_dir(config)))
    bind = server.server_bind

    def server_bind() -> None:
        """Bind as MkDocs does; a port taken during the first build is one line and exit 2,
        as `runbook serve` says it before the build (`preview.check_address`), not a
        traceback."""
        try:
            bind()
        except OSError as exc:
            reason = preview.cannot_listen(exc, *config.dev_addr)
            print(f"-a {config.dev_addr}: {reason}", file=sys.stderr)
            raise SystemExit(2) from None

    server.server_bind = server_bind
    return server


def on_env(env: Any, config: MkDocsConfig, files: Any) -> Any:
    """Drop the indentation of the theme's template tags from every page (a twentieth of
    each client page's bytes), as the project's own templates do; keep the theme's compiled
    templates between builds (`.cache/jinja-theme`), as each build compiles them anew."""
    env.trim_blocks = True
    env.lstrip_blocks = True
    folder = Path(config.config_file_path).parent / ".cache" / "jinja-theme"
    with contextlib.suppress(OSError):  # no cache where it cannot be written
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))
    return env
