"""Stage "publish" for paper: one client's handout as print HTML, then PDF with WeasyPrint.

The handout carries the runbook's steps with boxes to tick, a sheet of the values to type and
a rollback table. Its revision (a hash of the client file and the tool version) is printed on
every page, so a stale printout can be told from a current one. Building many handouts runs
in parallel processes and skips every handout whose revision, paper and layout are unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import hashlib
import html
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import jinja2
from markupsafe import Markup, escape

import generator
from generator import collector
from generator.clients import revision, saved_evidence
from generator.derive import Values
from generator.diagram import topology_svg
from generator.errors import RenderError, UserError, io_error
from generator.evidence import Evidence
from generator.procedure import WORDING, Code, Free, Procedure, Ref, Strong, Text, plain
from generator.publish import catch_sigterm, clean_stale_tmp, write_atomic
from generator.render import check_rendered, environment
from generator.render import markdown as render_markdown
from generator.scripts import script_texts
from generator.steps import build_procedure

TEMPLATE = "handout.html.j2"
STYLESHEET = "handout.css"
# `@page { size }` per --paper, and the name shown on the cover.
PAPER = {"a4": ("A4", "A4 (210 × 297 mm)"), "letter": ("letter", "US Letter (8.5 × 11 in)")}
MANIFEST = ".revisions.json"
PROGRESS_ABOVE = 3  # "more than a few": progress only when more handouts than this are built
DEFAULT_OUT_DIR = Path("dist")
# Runs of spaces, pieces ending in `;`, and other words: the places a value may wrap.


# Characters a code line holds on the handout: the code font is 0.6 em wide, so at 8.5 pt a
# line of A4 with its margins and a binding edge holds about 95; these leave room for the
# continuation's indent and the mark. Cells of a table are narrower.
LINE_CHARS = 86
CELL_CHARS = 46
CONTINUED = "\u21b5"  # ↵ ends a line that the next one continues (DESIGN.md, printed commands)
_BREAKS = re.compile(r"[^ ;]*;|[^ ;]* +|[^ ;]+")


def wrap(text: str, width: int) -> list[str]:
    """A command as printed lines: broken only after a `;` or at a space, never elsewhere.

    Every line but the last ends with `↵` (after the space when the break is at a space);
    joining each `↵` and line end with the next line gives `text` exactly. A quoted string
    that fits on a line is not broken (a space inside quotes, at a line's end, is the easiest
    to lose when typing); a longer one breaks as any text does. A piece wider than the line
    (a long host name) stays whole on a line of its own.
    """
    lines: list[str] = []
    current = ""
    for group in _quoted_groups(_BREAKS.findall(text)):
        whole = "".join(group)
        pieces = [whole] if len(whole.rstrip(" ")) <= width - 1 else group
        for piece in pieces:
            if current and len(current) + len(piece.rstrip(" ")) > width - 1:
                lines.append(current + CONTINUED)
                current = ""
            current += piece
    lines.append(current)
    return lines


def _quoted_groups(pieces: list[str]) -> list[list[str]]:
    """The pieces of a command, those between an opening and a closing `"` kept in one group
    (a quote left open runs to the end)."""
    groups: list[list[str]] = []
    group: list[str] = []
    quoted = False
    for piece in pieces:
        group.append(piece)
        if piece.count('"') % 2:
            quoted = not quoted
        if not quoted:
            groups.append(group)
            group = []
    if group:
        groups.append(group)
    return groups


def unwrap(printed: str) -> str:
    """Printed text with every continuation joined again: what the reader types."""
    return re.sub(CONTINUED + r"[ \t]*\n[ \t]*", "", printed)


def code_lines(value: object, width: int = LINE_CHARS) -> Markup:
    """A command as HTML lines with continuation marks, each line kept whole.

    A value of several lines (a file's content) keeps its own lines; each is wrapped alone,
    so only a line too long for the paper carries the mark. An empty line stays a line.
    """
    out = Markup("")
    for own in str(value).split("\n"):
        for i, line in enumerate(wrap(own, width)):
            kind = " cont" if i else (" empty" if not line else "")
            out += Markup('<span class="cl{}">{}</span>').format(kind, line)
    return out


def command_line(value: object, kind: str = "", width: int = LINE_CHARS) -> Markup:
    """One line of a command block: its printed lines (`code_lines`) in a `.ln` block, or,
    printed on one line, the block itself as that line (a box less to lay out, for most)."""
    text = str(value)
    if "\n" not in text and text and len(wrap(text, width)) == 1:
        return Markup('<div class="ln {} cl">{}</div>').format(kind, text)
    return Markup('<div class="ln {}">{}</div>').format(kind, code_lines(text, width))


def inline_code(value: object, width: int = CELL_CHARS) -> Markup:
    """A value in running text: one unbreakable run of code when it fits on a line, else its
    printed lines (`code_lines`) stacked in one inline block.

    Most values fit: as plain inline text they cost the layout a fraction of a block.
    """
    text = str(value)
    if "\n" not in text and len(wrap(text, width)) == 1:
        return Markup("<code>{}</code>").format(text)
    return Markup('<code class="lines">{}</code>').format(code_lines(text, width))


# A grid table's cells side by side, in characters of its code: 179 mm of line at 8.2 pt
# DejaVu Sans Mono (103 characters) less the cells' padding.
GRID_CHARS = 92


def grid_widths(header: Sequence[str], rows: Sequence[Sequence[Text]]) -> list[int]:
    """How wide each column of a grid table may print a value, in characters (`wrap`'s width,
    the mark included).

    A column gets what its widest cell needs, so a record's value is not wrapped while the
    line has room for it; only when the cells cannot all fit side by side are the widest
    columns narrowed, one character at a time, to no less than a sixth of the line.
    """
    widths = [
        1 + max([len(h), *(len(plain(row[i])) for row in rows if i < len(row))])
        for i, h in enumerate(header)
    ]
    least = GRID_CHARS // 6
    while sum(widths) > GRID_CHARS and max(widths) > least:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


_HYPHENATED = re.compile(r"\S*-\S*")


def words(text: object) -> Markup:
    """Plain text as HTML in which no word holding a hyphen is broken at the line's end.

    The author's words name values too ("MX for alpine-freight.com", "Old MX of ..."); a
    break after such a hyphen would read as two values, so each of those words stays whole.
    """
    plain = str(text)
    out = Markup("")
    at = 0
    for match in _HYPHENATED.finditer(plain):
        out += escape(plain[at : match.start()])
        out += Markup('<span class="nb">{}</span>').format(match.group())
        at = match.end()
    return out + escape(plain[at:])


def inline_html(text: Text, numbers: dict[str, int], width: int = CELL_CHARS) -> Markup:
    """Inline text as HTML: words escaped, values in code, references as step numbers."""
    out = Markup("")
    for part in text:
        if isinstance(part, str):
            out += words(part)
        elif isinstance(part, Code):
            out += inline_code(part.value, width)
        elif isinstance(part, Strong):
            out += Markup("<strong>{}</strong>").format(words(part.words))
        elif isinstance(part, Free):
            out += words(part.text)
        elif isinstance(part, Ref):
            number = part.number(numbers)
            out += Markup('<a class="ref" href="#step-{0}">step {0}</a>').format(number)
    return out


@cache
def html_environment() -> jinja2.Environment:
    """The render stage's environment with HTML autoescaping on, for print templates."""
    env = environment().overlay(autoescape=True)
    env.filters = {
        **env.filters,
        "code_lines": code_lines,
        "command_line": command_line,
        "words": words,
    }  # a copy: the base stays as it is
    return env


@cache
def _stylesheet() -> str:
    """The text of the handout's CSS (`handout_pdf` applies it, parsed once per process)."""
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
    """The print HTML of one client's handout, checked for leftover placeholders: the whole
    handout in one page (its PDF is made of two, `handout_bytes`).

    Deterministic: the same values, revision and paper give the same HTML. The cover and the
    footer of every page show a print date only when `generated` is given; the revision is
    always in the footer.
    """
    procedure = build_procedure(values, revision, evidence)
    return render_procedure_html(procedure, values, paper, generated)


@dataclass(frozen=True)
class Portion:
    """What a print page of the handout holds: all of it, or one of the two documents its PDF
    is made of (`handout_bytes`)."""

    name: str = "all"  # "all", "body" (after the cover) or "cover"
    cover_pages: int = 0  # body: the pages of the stand-in for the cover
    page_of: Mapping[str, int] = field(default_factory=dict)  # cover: each anchor's page
    page_count: int = 0  # cover: the handout's pages


def render_procedure_html(
    procedure: Procedure,
    values: Values,
    paper: str = "a4",
    generated: dt.date | None = None,
    part: Portion = Portion(),
) -> str:
    """The handout layout of a built procedure (`values` give the drawing and the author)."""
    size, paper_name = _paper(paper)
    numbers = procedure.numbers

    def ink(text: Text, width: int = CELL_CHARS) -> Markup:
        return inline_html(tuple(text), numbers, width)

    warning_refs = {w.code: (Ref(s.id),) for s in procedure.steps() for w in s.warnings}
    notes = notes_html(procedure.notes) if procedure.notes else Markup("")
    try:
        page = (
            html_environment()
            .get_template(TEMPLATE)
            .render(
                p=procedure,
                w=WORDING,
                notes=notes,
                consultant=values.consultant,
                ink=ink,
                grid_widths=grid_widths,
                warning_refs=warning_refs,
                wrap_mark=CONTINUED,
                version=generator.__version__,
                page_size=size,
                paper_name=paper_name,
                generated=generated,
                # escapes its own text (diagram.py)
                diagram=Markup(topology_svg(values) if part.name != "cover" else ""),
                part=part.name,
                cover_pages=part.cover_pages,
                page_of=part.page_of,
                page_count=part.page_count,
            )
        )
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{values.slug}: template {TEMPLATE}: {exc.message}") from None
    # checked as text, so a placeholder such as <server> is found even once escaped; the
    # consultant's own notes may say "TBD": the rule guards what the generator wrote, and
    # what it quotes of the saved checks (a laptop named tbd-pc) is read with a stand-in
    if procedure.checked_as is not None:
        render_procedure_html(procedure.checked_as, values, paper, generated, part)
    else:
        shown = html.unescape(page)
        check_rendered(shown.replace(html.unescape(notes), ""), f"{values.slug} handout")
    return _BETWEEN_BLOCKS.sub(r"\1", page)


def notes_html(notes: str) -> Markup:
    """The consultant's notes as the page shows them: their Markdown made HTML, with raw HTML,
    links and attribute lists disarmed as on the page (`render.markdown`), so on paper `**x**`
    is bold, not asterisks."""
    import markdown  # type: ignore[import-untyped]  # only for a handout with notes

    return Markup(  # noqa: S704  # render.markdown leaves no raw HTML (its tests)
        markdown.markdown(
            render_markdown(notes),
            extensions=["pymdownx.highlight", "pymdownx.superfences"],
            extension_configs={"pymdownx.highlight": {"use_pygments": False}},
        )
    )


# The template's line breaks between two block-level tags: text that prints nothing, yet is
# parsed and made into boxes that are then dropped (0.6 % of a handout).
_BLOCK = r"</?(?:p|div|section|table|colgroup|thead|tbody|tr|ul|ol|li|h[1-6])\b[^>]*>"
_BETWEEN_BLOCKS = re.compile(rf"({_BLOCK})\n+(?={_BLOCK})")


SCRIPTS_APPENDIX = "check-scripts.pdf"


def scripts_revision() -> str:
    """A short hash of the scripts' text and the tool version, printed on the appendix."""
    digest = hashlib.sha256(generator.__version__.encode())
    for name, body in script_texts().items():
        digest.update(b"\0" + name.encode() + b"\0" + body.encode())
    return digest.hexdigest()[:10]


def render_scripts_html(paper: str = "a4") -> str:
    """The print HTML of the check scripts' appendix, the same for every client."""
    size, _ = _paper(paper)
    return (
        html_environment()
        .get_template("check_scripts.html.j2")
        .render(
            scripts=script_texts(),
            revision=scripts_revision(),
            version=generator.__version__,
            page_size=size,
        )
    )


def write_scripts_appendix(out_dir: Path) -> Path:
    """`out_dir/check-scripts.pdf`, rebuilt only when its print HTML, the stylesheet or the PDF
    options changed.

    The HTML holds the scripts, the tool version and the template, so any of them changing
    rebuilds the appendix; rendering it costs little next to the PDF.
    """
    out = out_dir / SCRIPTS_APPENDIX
    stamp = out_dir / f".{SCRIPTS_APPENDIX}.revision"
    page = render_scripts_html()
    source = f"{page}\0{_stylesheet()}\0{sorted(PDF_OPTIONS.items())}".encode()
    wanted = f"{scripts_revision()} {hashlib.sha256(source).hexdigest()[:16]}"
    try:
        if out.is_file() and stamp.read_text(encoding="utf-8") == wanted:
            return out
    except OSError:
        pass
    _write_atomic(out, handout_pdf(page))
    _write_atomic(stamp, wanted.encode())
    return out


# Tagged (a structure tree, `/MarkInfo /Marked true`, the language and the title shown):
# screen readers, reflow and copying follow the reading order. Not declared PDF/UA (the
# `pdf/ua-1` variant): that would claim checks nobody has made.
PDF_OPTIONS: dict[str, object] = {"pdf_tags": True}


def pdf_bytes(page: str) -> bytes:
    """The PDF of a self-contained HTML page; fetches nothing, so no file or URL can leak in."""
    return _pdf(page, styled=False)


def handout_pdf(page: str) -> bytes:
    """The PDF of a print page of the handout templates, styled by handout.css (`pdf_bytes`)."""
    return _pdf(page, styled=True)


def handout_bytes(
    procedure: Procedure, values: Values, paper: str = "a4", generated: dt.date | None = None
) -> bytes:
    """The PDF of a handout: the pages after the cover laid out first, behind a stand-in for
    the cover that sets their running strings; then the cover, once, with the page of every
    entry of its contents known. The pages of both are written as one PDF, so links,
    bookmarks and tags span them as in one document.

    The PDF is the one `handout_pdf(render_procedure_html(...))` makes of the whole handout,
    byte for byte, at less cost: in one document the contents' `target-counter` has WeasyPrint
    lay the cover out three times (3 % of a handout). A cover longer than its stand-in moves
    every page number: the pages after it are laid out again behind a longer stand-in (page
    numbers only grow, and the cover with them, so this ends).
    """
    engine = _weasyprint()

    def lay_out(part: Portion) -> Any:
        page = render_procedure_html(procedure, values, paper, generated, part)
        return engine.page(string=page, url_fetcher=engine.fetcher).render(
            font_config=engine.fonts, stylesheets=[engine.sheet], **PDF_OPTIONS
        )

    def make() -> bytes:
        cover_pages = 1
        for _ in range(4):
            body = lay_out(Portion("body", cover_pages=cover_pages))
            page_of: dict[str, int] = {}
            for number, page in enumerate(body.pages, start=1):
                for anchor in page.anchors:  # a section on two pages starts on the first
                    page_of.setdefault(anchor, number)
            cover = lay_out(Portion("cover", page_of=page_of, page_count=len(body.pages)))
            if len(cover.pages) == cover_pages:
                pages = [*cover.pages, *body.pages[cover_pages:]]
                return bytes(body.copy(pages).write_pdf(**PDF_OPTIONS))
            cover_pages = len(cover.pages)
        raise RuntimeError(f"{values.slug}: the cover's page count did not settle")

    with collector.paused():
        return make()  # its documents are garbage once it returns (`collector.paused`)


def _pdf(page: str, styled: bool) -> bytes:
    """The PDF of `page`; a page of the handout templates when `styled`."""
    engine = _weasyprint()
    html_class = engine.page if styled else engine.html
    sheets = [engine.sheet] if styled else []
    # No CreationDate/ModDate and no file identifier: the same HTML gives the same bytes.
    with collector.paused():
        data = html_class(string=page, url_fetcher=engine.fetcher).write_pdf(
            font_config=engine.fonts, stylesheets=sheets, **PDF_OPTIONS
        )
    return bytes(data)


class _WeasyPrint(NamedTuple):
    """What this process renders with (`_weasyprint`)."""

    html: Any  # WeasyPrint's `HTML`, for any page
    page: Any  # `HTML` for the pages of the handout templates (`_trimmed_html`)
    fetcher: Any  # a URL fetcher allowing no protocol
    fonts: Any  # the process's font configuration
    sheet: Any  # handout.css, parsed


@cache
def _weasyprint() -> _WeasyPrint:
    """WeasyPrint, imported on first use (it takes most of a second), and what it renders with.

    One font configuration serves every handout a process makes: the fonts are found and
    loaded once, not once per handout. The handouts declare no `@font-face`, so nothing of one
    handout stays in it for the next; the same HTML gives the same bytes either way. So does
    the stylesheet (`handout_pdf`): parsed once, its selectors compiled once, instead of from
    a `<style>` in every page (1 % of a handout). It is a user stylesheet: a page's own
    `<style>` (the paper size) overrides it.
    """
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # slow import, only when used
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    fetcher = URLFetcher(allowed_protocols=())
    fonts = FontConfiguration()
    sheet = CSS(string=_stylesheet(), url_fetcher=fetcher, font_config=fonts)
    return _WeasyPrint(HTML, _trimmed_html(HTML, CSS), fetcher, fonts, sheet)


# Rules of WeasyPrint's stylesheet for HTML that match every element: the pseudo-elements of
# footnotes and notes, which no handout has, and markers, which only list items have.
_EVERY_ELEMENT = re.compile(r"^::(?:footnote|note)-[a-z]+\s*\{[^}]*\}\n?", re.MULTILINE)
_MARKER = re.compile(r"^::marker(?=\s*\{)", re.MULTILINE)


def _trimmed_html(html_class: Any, css_class: Any) -> Any:
    """WeasyPrint's `HTML` with its default stylesheet for HTML less the rules that match every
    element and style none of a handout's: each had every element compute a style of its own
    (seven styles an element instead of one), 3 % of a handout's instructions and more of its
    time, as the collector walks them all. The PDF is the same, byte for byte (a test).

    WeasyPrint's own `HTML` when its stylesheet no longer holds those rules as written here.
    """
    from importlib.resources import files

    text = (files("weasyprint.css") / "html5_ua.css").read_text("utf-8")
    trimmed, dropped = _EVERY_ELEMENT.subn("", text)
    trimmed, scoped = _MARKER.subn("li::marker", trimmed)
    if not dropped or scoped != 1:
        return html_class
    sheet = css_class(string=trimmed)

    class TrimmedHTML(html_class):  # type: ignore[misc]  # WeasyPrint is untyped
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [sheet] if not forms else super()._ua_stylesheets(forms)

    return TrimmedHTML


def preload() -> None:
    """Import WeasyPrint, parse the stylesheet and load the fonts in this process, by making a
    tiny PDF.

    Called before the worker processes are forked: they inherit all three, instead of each
    importing WeasyPrint (most of a second), parsing the stylesheet and finding the fonts again.
    """
    handout_pdf(
        "<!DOCTYPE html><html><head></head><body>"
        "<h2>Fonts</h2><p>Text <strong>bold</strong> <code>code</code></p>"
        '<div class="code"><div class="ln"><span class="cl">code</span></div></div></body></html>'
    )


def write_handout(
    values: Values,
    revision: str,
    out: Path,
    paper: str = "a4",
    evidence: Evidence | None = None,
    generated: dt.date | None = None,
) -> Path:
    """Render one handout to `out`, atomically: the file is whole or not there at all.

    `runbook handout` passes today's date, printed on the cover and in every page's footer.
    The site's handouts carry none, so an unchanged client file gives the same PDF on any day
    and the rebuild check can skip it.
    """
    data = handout_bytes(build_procedure(values, revision, evidence), values, paper, generated)
    _write_atomic(out, data)
    return out


def _write_atomic(out: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `out`, then rename it over `out`
    (`publish.write_atomic`: cleaned up on every failure, one-line errors)."""
    write_atomic(out, lambda file: file.write(data))


@cache
def layout_fingerprint() -> str:
    """A hash of what turns values into a handout: its templates and stylesheet, and the
    modules that write the procedure and draw the diagram. A change to any of them rebuilds
    every handout, even without a new tool version."""
    env = html_environment()
    assert env.loader is not None
    digest = hashlib.sha256()
    for name in sorted(env.list_templates(filter_func=lambda n: n.startswith("handout"))):
        digest.update(name.encode() + b"\0" + env.loader.get_source(env, name)[0].encode())
    package = Path(__file__).resolve().parent
    modules = ["procedure.py", "diagram.py", "handout.py", "render.py"]
    modules += sorted(p.relative_to(package).as_posix() for p in (package / "steps").glob("*.py"))
    for module in modules:
        digest.update(module.encode() + b"\0" + (package / module).read_bytes())
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
    data = handout_bytes(build_procedure(values, rev, evidence), values, paper)
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
    try:  # an unwritable folder is reported before any handout is rendered
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise io_error(out_dir, exc) from None
    clean_stale_tmp(out_dir)  # what workers of a killed build were writing
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
    failed = True
    try:
        if len(todo) == 1 or processes == 1:
            for values, rev, out, evidence in todo:
                slug, entry = _build_one(values, rev, out, paper, evidence)
                manifest[slug] = entry
                report.done(slug)
        else:
            _build_parallel(todo, paper, processes, manifest, report)
        failed = False
    finally:
        report.close()
        try:  # what was built so far is kept, even when the build stopped half-way
            _write_atomic(manifest_path, _manifest_json(manifest))
        except UserError:
            if not failed:
                raise  # otherwise the error that stopped the build is the one to report
        if failed:
            clean_stale_tmp(out_dir)  # what stopped workers were writing
    return paths


def _build_parallel(
    todo: list[_Job],
    paper: str,
    processes: int | None,
    manifest: dict[str, dict[str, str]],
    report: _Progress,
) -> None:
    """Build handouts in worker processes, recording each one in `manifest` as it finishes.

    The workers die with this process, even when it is killed (`_worker_started`). When a
    handout fails, or this process is interrupted (Ctrl-C, SIGTERM), the other workers are
    stopped at once and the error goes on.
    """
    workers = min(len(todo), processes or os.cpu_count() or 1)
    undo_sigterm = catch_sigterm()  # SIGTERM unwinds through the `except` below
    frozen = False
    try:
        # Forked workers share what this process has loaded: one WeasyPrint import and one
        # font configuration for all of them. Frozen, those objects are left alone by every
        # process's garbage collector, so the workers neither walk them nor copy their pages.
        preload()
        gc.freeze()
        frozen = True
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_fork_context(),
            initializer=_worker_started,
            initargs=(os.getpid(),),
        )
        try:
            # The workers are forked by the first `submit`. An interrupt arriving during a
            # fork would be swallowed by an at-fork hook (Python's logging): it waits until
            # the forks are done, then unwinds as usual.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
            try:
                pending: set[Future[tuple[str, dict[str, str]]]] = {
                    pool.submit(_build_one, values, rev, out, paper, evidence)
                    for values, rev, out, evidence in todo
                }
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    slug, entry = future.result()  # a worker's error stops the rest (below)
                    manifest[slug] = entry
                    report.done(slug)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
    finally:
        if frozen:
            gc.unfreeze()
        if undo_sigterm is not None:
            undo_sigterm()


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """Start workers by forking where the platform can, so they inherit the preloaded modules
    (Python 3.14 makes "forkserver" the default on Linux, and macOS uses "spawn")."""
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _worker_started(parent: int) -> None:
    """Worker initializer: die with the parent, and leave interrupts to it.

    On Linux the kernel kills the worker when its parent dies, even by SIGKILL
    (`PR_SET_PDEATHSIG`); everywhere, a watchdog thread notices that the parent changed.
    Ctrl-C reaches the whole process group: the parent stops the pool, so workers ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)  # blocked while forking
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # else the watchdog below still works
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the kernel was told
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    """End this worker within a second of its parent's death."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: end its workers (whatever they are building) and reap them."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for process in workers:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)


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
