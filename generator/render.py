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


# Code in the notes: a fenced block (its opening line, its content, its closing fence) or an
# inline span. Markdown escapes code itself, so its content is passed on as it stands:
# escaping it here as well would show `&amp;&amp;` where the consultant wrote `&&`.
_NOTES_CODE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$"
    r"|(?P<ticks>`+)(?P<span>[^`\n](?:[^\n]*?[^`\n])?)(?P=ticks)(?!`)",
    re.MULTILINE | re.DOTALL,
)


def _notes_prose(value: str) -> str:
    """Notes outside code: raw HTML shown as text, links and attribute lists disarmed."""
    escaped = html.escape(value, quote=False)
    escaped = re.sub(r"^(\s*)#", r"\1\\#", escaped, flags=re.MULTILINE)  # keep the outline
    # [ ] would make links; { } would let attr_list add attributes such as onclick=
    escaped = re.sub(r"([\[\]{}])", r"\\\1", escaped)
    # a line break in the client file stays a line break on the page (two trailing spaces)
    return re.sub(r"(?<=\S)\n(?=\S)", "  \n", escaped)


def markdown(value: object) -> str:
    """Free Markdown (notes): formatting kept, raw HTML shown as text, links disarmed.

    Links and images are escaped, so a note cannot carry a `javascript:` URL, and so are
    attribute lists, so it cannot add an event handler to an element. Code keeps its text
    exactly (escaped once, by Markdown); a fence's info line is prose, so it cannot carry
    attributes either.
    """
    text = str(value)
    out: list[str] = []
    position = 0
    for found in _NOTES_CODE.finditer(text):
        out.append(_notes_prose(text[position : found.start()]))
        if found.group("fence"):
            info = re.match(r"[A-Za-z0-9_+-]*", found.group("info").strip())  # a language name
            assert info is not None
            fence = found.group("fence")
            out.append(f"{fence}{info.group()}\n{found.group('body')}{fence}")
        else:
            out.append(found.group(0))
        position = found.end()
    out.append(_notes_prose(text[position:]))
    return "".join(out)


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
