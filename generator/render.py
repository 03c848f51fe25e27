"""Stage "render": place derived values into Markdown with Jinja2, and refuse leftovers.

Templates compute nothing (STYLE.md): every fact they show is a field of `Values`. Free text
from the client file goes through `text` or `markdown` filters so it cannot inject markup.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from functools import cache
from pathlib import Path

import jinja2

from generator.clients import find_project
from generator.errors import RenderError
from generator.placeholders import find_placeholder

# Characters Markdown (or one of the site's extensions) can read as structure.
_MD_ACTIVE = re.compile(r"[\\`*_{}\[\]()#+\-.!|~<>&:=^\"']")


def text(value: object) -> str:
    """Free text shown inline as inert Markdown: every active character an entity.

    Entities rather than backslashes: a backslash escape shows literally wherever Markdown
    does not process it (titles, tables, some extensions); an entity reads the same
    everywhere and is escaped exactly once.
    """
    return _MD_ACTIVE.sub(lambda m: f"&#{ord(m.group())};", str(value))


# Code in the notes: a fenced block (its opening line, its content, its closing fence; indented,
# as in a list item, or not) or an inline span. Markdown escapes a block's code itself, so its
# content is passed on as it stands: escaping it here as well would show `&amp;&amp;` where the
# consultant wrote `&&`. A span is escaped here, once (`_code`).
_NOTES_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)"
    r"^(?P<close>[ \t]*)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
# An inline span: ticks after an even number of backslashes (after an odd one the first tick
# is escaped, plain text), up to the next run of exactly as many ticks on the line. It is made
# HTML here (`_code`) and every other backtick an entity (`_inert`): Markdown is left no tick
# to pair, as its own rules would pair them differently (across lines, a longer run with a
# shorter one) and show the HTML between two ticks live.
_NOTES_SPAN = re.compile(
    r"(?<!\\)(?P<backslashes>(?:\\\\)*)(?P<ticks>`+)(?P<code>[^\n]+?)(?<!`)(?P=ticks)(?!`)"
)
# Inside <code>, Markdown still reads emphasis, escapes, links, attribute lists and table cells
_CODE_ACTIVE = re.compile(r"[\\`*_{}\[\]()#+\-.!|~<>&:=^\"']")
_CODE_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _code(found: re.Match[str]) -> str:
    """A code span as HTML: its text exactly, each character Markdown could read an entity
    (`&`, `<` and `>` the usual ones, so `&&` reads `&amp;&amp;` as Markdown would write it)."""
    shown = _CODE_ACTIVE.sub(
        lambda m: _CODE_ENTITIES.get(m.group(), f"&#{ord(m.group())};"),
        found.group("code").strip(),
    )
    return f"{found.group('backslashes')}<code>{shown}</code>"


_BLANK_LINE = re.compile(r"^[ \t]+$", re.MULTILINE)
# A fence left open: Markdown would make the rest of the page its code. Shown as characters.
_OPEN_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})", re.MULTILINE)
# A line Markdown reads as code by its indent alone (four spaces or a tab, after a blank line)
_INDENTED = re.compile(r"^(?: {4}|\t)")


def _notes_prose(value: str, line: bool, block: bool) -> str:
    """Notes outside code: raw HTML shown as text, links, attribute lists and open fences
    disarmed; lines Markdown reads as code by their indent made a fenced block, so they too
    are escaped once. `line`: `value` starts a line; `block`: that line starts a block (the
    notes' start, or after a blank line)."""
    out: list[str] = []
    lines = value.split("\n")
    prose: list[str] = []
    i = 0
    while i < len(lines):
        after_blank = block if i == 0 else not lines[i - 1].strip() and (i > 1 or line)
        if after_blank and lines[i].strip() and _INDENTED.match(lines[i]):
            end = i
            while end < len(lines) and (not lines[end].strip() or _INDENTED.match(lines[end])):
                end += 1
            while not lines[end - 1].strip():  # blank lines after it are the prose's again
                end -= 1
            out.append(_spans_kept("\n".join(prose)) + "\n" if prose else "")
            out.append(_fenced("\n".join(_INDENTED.sub("", x) for x in lines[i:end])))
            prose = [""]  # the fence's line ends: what follows starts a line of its own
            i = end
            continue
        prose.append(lines[i])
        i += 1
    # a block ending the prose ends its line: a span that follows goes on the next one, or
    # it would run into the closing fence and leave the block open
    out.append(_spans_kept("\n".join(prose)) if prose != [""] else "\n")
    return "".join(out)


def _spans_kept(value: str) -> str:
    """Prose escaped (`_escape_prose`) around its code spans, made HTML (`_code`)."""
    out: list[str] = []
    position = 0
    for found in _NOTES_SPAN.finditer(value):
        out.append(_escape_prose(value[position : found.start()]))
        out.append(_code(found))
        position = found.end()
    out.append(_escape_prose(value[position:]))
    return "".join(out)


def _fenced(code: str) -> str:
    """A fenced block around `code`, longer than any fence inside it."""
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}\n{code}\n{fence}"


# In prose, a character that makes links ([ ]), attribute lists ({ }, e.g. onclick=) or code
# (`), with the backslashes before it: see `_inert`.
_PROSE_ACTIVE = re.compile(r"(?<!\\)(\\*)([\[\]{}`])")  # from a run's start: linear


_UNDERLINE = re.compile(r"(?<=\S)(\n[ \t]{0,3})([=-])(?=[=-]*[ \t]*$)", re.MULTILINE)


def _inert(found: re.Match[str]) -> str:
    """`_PROSE_ACTIVE` made text: the character an entity, which no backslash typed before it
    can undo (a backslash escape can: `\\[` typed gave `\\\\[`, an escaped backslash and a live
    `[`); a stray backtick an entity too, so that Markdown cannot pair it with the tick of a
    code span further on and show the HTML between them live. Of the backslashes before it,
    an odd last one was Markdown's escape of the character, which the entity now is."""
    backslashes = found.group(1)
    return backslashes[: len(backslashes) // 2 * 2] + f"&#{ord(found.group(2))};"


def _escape_prose(value: str) -> str:
    escaped = html.escape(value, quote=False)
    escaped = re.sub(r"^(\s*)#", r"\1\\#", escaped, flags=re.MULTILINE)  # keep the outline
    escaped = _PROSE_ACTIVE.sub(_inert, escaped)
    # a line of = or - under a line of text would make that line a heading (setext) as well
    escaped = _UNDERLINE.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", escaped)
    escaped = _OPEN_FENCE.sub(
        lambda m: m.group(1) + "".join(f"&#{ord(c)};" for c in m.group(2)), escaped
    )
    # a line break in the client file stays a line break on the page (two trailing spaces)
    return re.sub(r"(?<=\S)\n(?=\S)", "  \n", escaped)


def markdown(value: object) -> str:
    """Free Markdown (notes): formatting kept, raw HTML shown as text, links disarmed.

    Links and images are escaped, so a note cannot carry a `javascript:` URL, and so are
    attribute lists, so it cannot add an event handler to an element. Code keeps its text
    exactly (escaped once: by Markdown in a block, here in a span), whether fenced, indented or
    inline; a fence's info
    line is prose, so it cannot carry attributes either. A fence never closed is shown as its
    characters: Markdown would otherwise make the rest of the page its code.
    """
    # Markdown reads a carriage return as a line break, and a line of spaces as a blank line
    # (but at the very start, where the handout's notes begin): so must the code found here
    text = _BLANK_LINE.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    position = 0
    for found in _NOTES_FENCE.finditer(text):
        out.append(_prose_at(text, position, found.start()))
        info = re.match(r"[A-Za-z0-9_+-]*", found.group("info").strip())  # a language name
        assert info is not None
        fence, indent = found.group("fence"), found.group("indent")
        # at the line's start, after a blank line: Markdown reads a fence as one only there
        # (indented, even in a list, its lines would be prose to it, raw HTML and all)
        body = re.sub(rf"^[ \t]{{0,{len(indent)}}}", "", found.group("body"), flags=re.M)
        # a blank line first (one too many is harmless): a fence cannot follow prose on
        # the next line
        out.append(f"\n\n{fence}{info.group()}\n{body}{fence}")
        position = found.end()
    out.append(_prose_at(text, position, len(text)))
    return "".join(out)


def _prose_at(text: str, start: int, end: int) -> str:
    """`_notes_prose` of `text[start:end]`, knowing what comes before it."""
    line = start == 0 or text[start - 1] == "\n"
    block = start == 0 or (line and not text[: start - 1].rpartition("\n")[2].strip())
    return _notes_prose(text[start:end], line, block)


def code(value: object) -> str:
    """An inline code span that holds any value exactly, whatever backticks it contains."""
    raw = str(value)
    if "`" not in raw:  # nearly every value: no fence to outgrow, no padding (thousands a page)
        return f"`{raw}`"
    longest = max(len(m) for m in re.findall(r"`+", raw))
    fence = "`" * (longest + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def codeblock(value: object, lang: str = "text", indent: int = 0) -> str:
    """A fenced code block holding `value` exactly, indented for use inside a block."""
    raw = str(value).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", raw)), default=2) if "```" in raw else 2
    fence = "`" * (longest + 1)
    if not indent:  # nearly every block: its lines as they stand
        return f"{fence}{lang}\n{raw}\n{fence}"
    pad = " " * indent
    body = "\n".join(pad + line if line else "" for line in raw.split("\n"))
    return f"{pad}{fence}{lang}\n{body}\n{pad}{fence}"


def cache_folder(start: Path, name: str) -> Path | None:
    """`.cache/<name>` beside the `mkdocs.yml` of the project holding `start` (or, for client
    files kept elsewhere, of the project this generator runs from), made if needed; None
    outside a project or where it cannot be written (then nothing is cached)."""
    root = find_project(start.resolve()) or find_project(Path(__file__).resolve().parent)
    if root is None:
        return None
    folder = root / ".cache" / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs, so a process does not compile them again.

    Jinja checks each entry against the template's source and the Python version; the key adds
    Jinja's version and the environment's options (the HTML overlay compiles the same
    templates with autoescaping on, and a changed option must never reuse old code). A folder
    that cannot be read or written only means compiling again.
    """

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> jinja2.bccache.Bucket:
        """The entry of `name` as compiled by `environment`."""
        options = (
            jinja2.__version__,
            environment.autoescape,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.keep_trailing_newline,
            environment.newline_sequence,
            environment.optimized,
            environment.block_start_string,
            environment.variable_start_string,
            environment.comment_start_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            sorted(environment.extensions),
        )
        return super().get_bucket(environment, f"{name}\0{options!r}", filename, source)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Load an entry; an unreadable one is compiled again."""
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Store an entry (atomically, by Jinja); a full or read-only folder is skipped."""
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: strict about undefined names, Markdown out.

    Templates do not change while a process runs (the package's code does not either), so
    they are not checked for changes on each use; compiled, they are kept in the project's
    `.cache/jinja` for the next run.
    """
    folder = cache_folder(Path.cwd(), "jinja")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML: free text is escaped by the filters below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=TemplateCache(str(folder)) if folder else None,
    )
    env.filters.update(text=text, markdown=markdown, code=code, codeblock=codeblock)
    return env


def check_rendered(page: str, name: str) -> str:
    """Return `page`, or raise `RenderError` if template syntax or a placeholder survived."""
    found = find_placeholder(page)
    if found:
        line = page[: page.find(found)].count("\n") + 1
        raise RenderError(f"{name}:{line}: rendered page still holds {found!r}; nothing written")
    return page


def render_template(template: str, name: str, **context: object) -> str:
    """Render one template and check the result."""
    try:
        page = environment().get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{name}: template {template}: {exc.message}") from None
    return check_rendered(page, name)
