"""Stage "publish" for paper: one client's handout as print HTML, then PDF with WeasyPrint.

The handout carries the runbook's steps with boxes to tick, a sheet of the values to type and
a rollback table. Its revision (a hash of the client file and the tool version) is printed on
every page, so a stale printout can be told from a current one. Building many handouts runs
in parallel processes and skips every handout whose revision, paper and layout are unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import re
import secrets
import sys
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import click
import jinja2
from markupsafe import Markup, escape

import generator
from generator.check import script_texts
from generator.derive import Values
from generator.diagram import topology_svg
from generator.errors import RenderError, UserError
from generator.evidence import Evidence, evidence_path
from generator.evidence import load as load_evidence
from generator.render import check_rendered, environment

TEMPLATE = "handout.html.j2"
STYLESHEET = "handout.css"
# `@page { size }` per --paper, and the name shown on the cover.
PAPER = {"a4": ("A4", "A4 (210 × 297 mm)"), "letter": ("letter", "US Letter (8.5 × 11 in)")}
MANIFEST = ".revisions.json"
PROGRESS_ABOVE = 3  # "more than a few": progress only when more handouts than this are built
DEFAULT_OUT_DIR = Path("dist")
# Runs of spaces, pieces ending in `;`, and other words: the places a value may wrap.
_PIECES = re.compile(r"\s+|[^\s;]*;|[^\s;]+")


def revision(client_file: Path) -> str:
    """A short hash of the client file, its saved check results (if any) and the tool version,
    printed on every page."""
    try:
        data = client_file.read_bytes()
    except OSError as exc:
        raise UserError(f"{client_file}: cannot read: {exc.strerror}") from None
    saved = evidence_file(client_file)
    if saved.is_file():
        data += b"\0evidence\0" + saved.read_bytes()
    digest = hashlib.sha256(data + b"\0cutover-runbooks " + generator.__version__.encode())
    return digest.hexdigest()[:10]


def evidence_file(client_file: Path) -> Path:
    """Where the saved check results of this client file live."""
    return evidence_path(client_file.parent, client_file.name.removesuffix(".yml"))


def saved_evidence(client_file: Path) -> Evidence | None:
    """The client's latest saved check results, or None."""
    return load_evidence(evidence_file(client_file))


def breakable(value: object) -> Markup:
    """HTML-escaped text that may wrap at a space or after a `;`, and nowhere else.

    Each word (or `;`-terminated piece of one) becomes an inline block, so the layout never
    breaks a value at a hyphen, slash or dot; it wraps inside a piece only when that piece
    alone is wider than the line. Nothing is added to the text: what is read or copied from
    the PDF is the value exactly.
    """
    raw = value.unescape() if isinstance(value, Markup) else str(value)
    out = Markup("")
    for piece in _PIECES.findall(raw):
        if piece.isspace():
            out += escape(piece)
        else:
            out += Markup('<span class="seg">{}</span>').format(piece)
    return out


@cache
def html_environment() -> jinja2.Environment:
    """The render stage's environment with HTML autoescaping on, for print templates."""
    env = environment().overlay(autoescape=True)
    env.filters = {**env.filters, "breakable": breakable}  # a copy: the base stays as it is
    return env


@cache
def _stylesheet() -> str:
    """The handout's CSS, inlined so the HTML is one self-contained, deterministic page."""
    env = html_environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, STYLESHEET)
    return source


def _paper(paper: str) -> tuple[str, str]:
    """The CSS page size and display name of a paper, or a `UserError`."""
    try:
        return PAPER[paper]
    except KeyError:
        known = ", ".join(PAPER)
        raise UserError(f"paper {paper!r} is not one of: {known}") from None


def render_handout_html(
    values: Values,
    revision: str,
    paper: str = "a4",
    generated: dt.date | None = None,
    evidence: Evidence | None = None,
) -> str:
    """The print HTML of one client's handout, checked for leftover placeholders.

    Deterministic: the same values, revision and paper give the same HTML. The cover shows a
    print date only when `generated` is given.
    """
    size, paper_name = _paper(paper)
    template = TEMPLATE
    try:
        page = (
            html_environment()
            .get_template(template)
            .render(
                v=values,
                revision=revision,
                version=generator.__version__,
                page_size=size,
                paper_name=paper_name,
                generated=generated,
                evidence=evidence,
                scripts=script_texts(),
                diagram=Markup(topology_svg(values)),  # escapes its own text (diagram.py)
                css=Markup(_stylesheet()),
            )
        )
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{values.slug}: template {template}: {exc.message}") from None
    # checked as text, so a placeholder such as <server> is found even once escaped
    check_rendered(html.unescape(page), f"{values.slug} handout")
    return page


def pdf_bytes(page: str) -> bytes:
    """The PDF of a print HTML page; fetches nothing, so no file or URL can leak in."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # slow import, only when used
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    # No CreationDate/ModDate and no file identifier: the same HTML gives the same bytes.
    document = HTML(string=page, url_fetcher=URLFetcher(allowed_protocols=()))
    return bytes(document.write_pdf())


def write_handout(
    values: Values,
    revision: str,
    out: Path,
    paper: str = "a4",
    evidence: Evidence | None = None,
) -> Path:
    """Render one handout to `out`, atomically: the file is whole or not there at all."""
    data = pdf_bytes(render_handout_html(values, revision, paper, evidence=evidence))
    _write_atomic(out, data)
    return out


def _write_atomic(out: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `out`, then rename it over `out`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # O_EXCL: never follow or reuse a file someone else put there; 0o666 honours the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise UserError(f"{out}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{out}: cannot write: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@cache
def layout_fingerprint() -> str:
    """A hash of the handout templates and stylesheet: a new layout rebuilds every handout."""
    env = html_environment()
    assert env.loader is not None
    digest = hashlib.sha256()
    for name in sorted(env.list_templates(filter_func=lambda n: n.startswith("handout"))):
        digest.update(name.encode() + b"\0" + env.loader.get_source(env, name)[0].encode())
    return digest.hexdigest()[:10]


def _wanted(values: Values, rev: str, paper: str) -> dict[str, str]:
    """What a current handout was built from: revision, paper, layout and derived values.

    The values' hash catches a change of the domain rules made without a new tool version.
    """
    return {
        "revision": rev,
        "paper": paper,
        "layout": layout_fingerprint(),
        "values": hashlib.sha256(values.model_dump_json().encode()).hexdigest()[:16],
    }


def _read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """The manifest of a handout folder; an unreadable one just means "rebuild everything"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_current(entry: object, wanted: dict[str, str], pdf: Path) -> bool:
    """Whether `pdf` is the handout a previous build wrote from what is wanted now."""
    if not isinstance(entry, dict) or any(entry.get(k) != v for k, v in wanted.items()):
        return False
    try:
        return hashlib.sha256(pdf.read_bytes()).hexdigest() == entry.get("sha256")
    except OSError:
        return False


def _build_one(
    values: Values, rev: str, out: Path, paper: str, evidence: Evidence | None
) -> tuple[str, dict[str, str]]:
    """Build one handout (in a worker process); return its slug and manifest entry."""
    data = pdf_bytes(render_handout_html(values, rev, paper, evidence=evidence))
    _write_atomic(out, data)
    entry = _wanted(values, rev, paper) | {"sha256": hashlib.sha256(data).hexdigest()}
    return values.slug, entry


_Job = tuple[Values, str, Path, Evidence | None]  # values, revision, PDF, saved checks


def build_handouts(
    jobs: Sequence[tuple[Values, Path]],
    out_dir: Path,
    processes: int | None = None,
    progress: bool | None = None,
    paper: str = "a4",
) -> list[Path]:
    """Build `out_dir/<slug>.pdf` for every (values, client file) job; return all their paths.

    A handout whose revision, paper, layout and values match the manifest
    (`out_dir/.revisions.json`), and whose file is the one last written, is left untouched.
    The rest are built in parallel processes (in this process for a single handout).
    Progress goes to stderr when it is a terminal and more than a few handouts are built,
    or whenever `progress` is true.
    """
    _paper(paper)
    manifest_path = out_dir / MANIFEST
    manifest = _read_manifest(manifest_path)
    paths: list[Path] = []
    todo: list[_Job] = []
    for values, client_file in jobs:
        rev = revision(client_file)  # covers the saved check results too
        out = out_dir / f"{values.slug}.pdf"
        paths.append(out)
        if not _is_current(manifest.get(values.slug), _wanted(values, rev, paper), out):
            todo.append((values, rev, out, saved_evidence(client_file)))
    if not todo:
        return paths
    if progress is None:
        progress = sys.stderr.isatty() and len(todo) > PROGRESS_ABOVE
    report = _Progress(len(todo), sys.stderr if progress else None)
    try:
        if len(todo) == 1 or processes == 1:
            for values, rev, out, evidence in todo:
                slug, entry = _build_one(values, rev, out, paper, evidence)
                manifest[slug] = entry
                report.done(slug)
        else:
            _build_parallel(todo, paper, processes, manifest, report)
    finally:
        report.close()
        _write_atomic(manifest_path, _manifest_json(manifest))
    return paths


def _build_parallel(
    todo: list[_Job],
    paper: str,
    processes: int | None,
    manifest: dict[str, dict[str, str]],
    report: _Progress,
) -> None:
    """Build handouts in worker processes, recording each one in `manifest` as it finishes."""
    workers = min(len(todo), processes or os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[tuple[str, dict[str, str]]]] = {
            pool.submit(_build_one, values, rev, out, paper, evidence)
            for values, rev, out, evidence in todo
        }
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    future.result()  # re-raises the worker's error, after the others stop
                slug, entry = future.result()
                manifest[slug] = entry
                report.done(slug)


def _manifest_json(manifest: dict[str, Any]) -> bytes:
    """The manifest's text: sorted keys, so an unchanged build writes the same bytes."""
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


class _Progress:
    """`handouts: 3/12 northwind-traders` on one line of a terminal, or nothing."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total = total
        self.count = 0
        self.stream = stream

    def done(self, slug: str) -> None:
        """Count one more finished handout."""
        self.count += 1
        if self.stream:
            self.stream.write(f"\rhandouts: {self.count}/{self.total} {slug}\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.stream and self.count:
            self.stream.write("\n")
            self.stream.flush()


class _HandoutCommand(click.Command):
    """A command that takes the CLI's shared `--runbooks` option when it is first used.

    `generator.cli` imports this module to register the command, so the option cannot be
    imported from there while this module loads.
    """

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The command's parameters, `--runbooks` included."""
        if not any(param.name == "runbooks_dir" for param in self.params):
            from generator.cli import runbooks_option

            runbooks_option(self)
        return super().get_params(ctx)


@click.command("handout", cls=_HandoutCommand)
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PDF file to write. Default: dist/SLUG.pdf.",
)
@click.option(
    "--paper",
    type=click.Choice(sorted(PAPER)),
    default="a4",
    show_default=True,
    help="Paper size.",
)
def handout_command(slug: str, output: Path | None, paper: str, runbooks_dir: Path) -> None:
    """Write the printable PDF handout of a client (default: dist/SLUG.pdf)."""
    from generator.cli import client_path, load_values

    values = load_values(runbooks_dir, slug)
    client_file = client_path(runbooks_dir, slug)
    rev = revision(client_file)
    out = output or DEFAULT_OUT_DIR / f"{values.slug}.pdf"
    if out.is_dir():
        raise UserError(f"{out}: is a folder; name the PDF file to write")
    write_handout(values, rev, out, paper, saved_evidence(client_file))
    click.echo(f"wrote {out} (revision {rev}, {PAPER[paper][1]})")
