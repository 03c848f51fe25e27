"""Stage "publish", first half: write the site engine's input folder.

Everything the site shows is generated here, before any site engine runs: the hand-written
pages of `docs/` (the home page with its client table filled in), one page per client, the
client-file reference, the check scripts' page and downloads, each client's `validports.reg`
and the handouts. The folder is `docs_dir` of `mkdocs.yml` (`build/docs`), so `mkdocs build`
(whose hook calls this first) and `zensical build` (after `runbook generate`) make the same
site from the same configuration.

A file is rewritten only when its bytes change and files no longer generated are removed, so
the engine's `--dirty` mode rebuilds only what an edit touched.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from generator import site
from generator.errors import UserError, io_error
from generator.publish import fingerprint, write_atomic

CLIENTS_MARKER = "<!-- clients -->"
CLIENT_SEARCH_BOOST = 4
KEEP = ".keep"  # the committed file that makes the folder exist on a fresh clone


@dataclass
class Generated:
    """What one generation wrote: the published clients, and the files with errors."""

    pages: list[site.ClientPage]
    inputs: dict[Path, str]  # each published client file's hash, as it was read
    broken: dict[str, list[str]] = field(default_factory=dict)  # slug: its problem lines
    changed: list[str] = field(default_factory=list)  # site paths written this time


def generate(
    source: Path,
    out: Path,
    runbooks_dir: Path,
    *,
    display_root: Path | None = None,
    only: str | None = None,
    handout_cache: Path | None = None,
    show_errors: bool = False,
) -> Generated:
    """Write the engine's input folder `out` from the pages in `source` and the client files.

    Every client is checked first: a file with errors stops the generation with every problem
    of every file, unless `show_errors` (the preview), where each broken file gets a page
    listing its problems and the other clients are generated as usual. `handout_cache` names
    where handouts are built and kept; without it no handout is generated.
    """
    if show_errors:
        pages, broken = site.collect_each(runbooks_dir, display_root, only)
    else:
        pages, broken = site.collect(runbooks_dir, display_root, only), {}
    # as read: a file edited later, while the handouts are built, is noticed by the hook
    inputs = fingerprint([p.path for p in pages])
    files: dict[str, bytes | Path] = {}
    for path in _sources(source):
        rel = path.relative_to(source).as_posix()
        files[rel] = path
    files["index.md"] = _home(source / "index.md", pages, broken)
    files["reference/client-file.md"] = site.reference_page().encode()
    files["reference/check-scripts.md"] = site.scripts_page().encode()
    files.update(site.check_scripts())
    for page in pages:
        files[f"clients/{page.summary.slug}.md"] = client_page(page).encode()
        files.update(site.downloads(page))
    for slug, problems in broken.items():
        files[f"clients/{slug}.md"] = error_page(slug, problems).encode()
    if handout_cache is not None:
        for pdf in site.handouts(pages, handout_cache):
            files[f"handouts/{pdf.name}"] = pdf
    changed = sync(out, files)
    return Generated(pages, inputs, broken, changed)


def docs_dir(config_file: Path) -> Path:
    """The generated folder named by `docs_dir` in `config_file`, beside it."""
    import yaml

    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{config_file}: cannot read the site's configuration: {exc}") from None
    name = config.get("docs_dir", "docs") if isinstance(config, dict) else "docs"
    return config_file.parent / str(name)


def hold(out: Path) -> Callable[[], None]:
    """Take the generated folder for one build, waiting while another build holds it (two
    builds at once would otherwise write and read one folder); return how to let it go.

    The lock dies with its process, so a killed build never leaves it taken. Without `fcntl`
    (Windows) builds are not serialised.
    """
    try:
        import fcntl
    except ImportError:
        return lambda: None
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY)
    except OSError as exc:
        raise io_error(out, exc, "cannot generate the site's pages there") from None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return lambda: os.close(fd)  # closing releases the lock


def client_page(page: site.ClientPage) -> str:
    """A client's page with its front matter: its title, and its rank in search."""
    # Material writes a page's title into <title>, the navigation and search results as it
    # stands: the client's name is free text, so it is escaped here, once.
    title = html.escape(page.summary.client)
    front = f"---\ntitle: {json.dumps(title)}\nsearch:\n  boost: {CLIENT_SEARCH_BOOST}\n---\n\n"
    return front + page.markdown


def error_page(slug: str, problems: list[str]) -> str:
    """The preview's page for a client file with errors: each problem as the command line
    prints it."""
    lines = "\n".join(problems)
    fence = "```"
    while fence in lines:
        fence += "`"
    return (
        f"---\ntitle: {json.dumps(slug + ': errors')}\n---\n\n"
        f"# {slug}: the client file has errors\n\n"
        "Nothing of this client is published until they are fixed; the other clients are "
        "not affected. Save the file again to see the page.\n\n"
        f"{fence}text\n{lines}\n{fence}\n"
    )


def _home(index: Path, pages: list[site.ClientPage], broken: dict[str, list[str]]) -> bytes:
    """The home page: `docs/index.md` with the client table in place of its marker."""
    try:
        text = index.read_text(encoding="utf-8")
    except OSError as exc:
        raise io_error(index, exc, "cannot read the home page") from None
    if CLIENTS_MARKER in text:
        table = site.home_table(pages)
        if broken:
            links = ", ".join(f"[{slug}](clients/{slug}.md)" for slug in sorted(broken))
            table += f'\n\n!!! failure "Client files with errors"\n    {links}\n'
        text = text.replace(CLIENTS_MARKER, table)
    return text.encode()


def _sources(source: Path) -> Iterable[Path]:
    """The hand-written files of `source` (hidden files and folders left out)."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield path


def sync(out: Path, files: dict[str, bytes | Path]) -> list[str]:
    """Make `out` hold exactly `files` (bytes, or a file to copy), writing only what differs;
    return the paths written. `.keep` at the top stays: it marks the folder as generated, and a
    folder holding other files without it is refused rather than emptied."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: cannot generate the site's pages there: not a folder")
    _claim(out)
    written: list[str] = []
    for rel, content in sorted(files.items()):
        target = out / rel
        data = _read(content) if isinstance(content, Path) else content
        if _same(target, data):
            continue
        write_atomic(target, lambda stream, data=data: stream.write(data))  # type: ignore[misc]
        written.append(rel)
    _remove_others(out, set(files))
    return written


def _claim(out: Path) -> None:
    """Mark `out` as a generated folder (its `.keep`), refusing one that holds other files:
    a generation removes whatever it did not write, and `--out .` or `--out runbooks` must not
    empty the project."""
    keep = out / KEEP
    try:
        if out.is_dir() and not keep.exists() and any(out.iterdir()):
            raise UserError(
                f"{out}: cannot generate the site's pages there: it holds files a generation "
                f"did not write (no {KEEP}), which it would remove; name a new or empty folder"
            )
        if not keep.exists():  # left as it is otherwise: nothing changes without a reason
            out.mkdir(parents=True, exist_ok=True)
            keep.touch()
    except OSError as exc:
        raise io_error(out, exc, "cannot generate the site's pages there") from None


def _read(path: Path) -> bytes:
    """A file's bytes, or a one-line error."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise io_error(path, exc, "cannot read") from None


def _same(target: Path, data: bytes) -> bool:
    """Whether `target` already holds exactly `data`."""
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _remove_others(out: Path, keep: set[str]) -> None:
    """Remove what an earlier generation wrote and this one did not."""
    if not out.is_dir():
        return
    for path in sorted(out.rglob("*"), reverse=True):  # files before their folders
        rel = path.relative_to(out).as_posix()
        if rel == KEEP or rel in keep:
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink()
        except OSError as exc:
            raise io_error(path, exc, "cannot remove an old generated file") from None


def clear(out: Path) -> None:
    """Remove a generated folder (a bundle's, a test's)."""
    shutil.rmtree(out, ignore_errors=True)
