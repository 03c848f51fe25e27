"""Stage "publish" for the site: every client's page and download, built in memory.

`generator.generate` writes them into the site engine's input folder; nothing is written into
`docs/`. All clients are checked before any page is produced,
so one bad file fails the build with every problem of every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.cache import Rendered, Summary, prune, rendered
from generator.clients import client_files
from generator.derive import Values
from generator.errors import UserError
from generator.evidence import Evidence
from generator.model import is_draft, json_schema
from generator.render import render_template
from generator.scripts import script_texts


@dataclass(frozen=True)
class ClientPage:
    """One client's rendered runbook, what the site shows beside it, and its derived values
    (read only when asked for: the site's own pages need the summary alone)."""

    path: Path
    made: Rendered

    @property
    def summary(self) -> Summary:
        """The client's name, slug, home table row and download."""
        return self.made.summary

    @property
    def values(self) -> Values:
        """Every derived value (the handouts need them)."""
        return self.made.values

    @property
    def markdown(self) -> str:
        """The client's page."""
        return self.made.markdown

    @property
    def evidence(self) -> Evidence | None:
        """The client's saved check results, or None."""
        return self.made.evidence

    @property
    def stale(self) -> str | None:
        """Why the saved checks no longer match the client file, or None."""
        return self.made.summary.stale


def collect(
    runbooks_dir: Path, display_root: Path | None = None, only: str | None = None
) -> list[ClientPage]:
    """Load, derive and render every client (or only the slug `only`), or raise with all
    their problems."""
    pages, broken = collect_each(runbooks_dir, display_root, only)
    if broken:
        raise _SiteError([line for lines in broken.values() for line in lines])
    return pages


def collect_each(
    runbooks_dir: Path, display_root: Path | None = None, only: str | None = None
) -> tuple[list[ClientPage], dict[str, list[str]]]:
    """Every client that loads (or only the slug `only`), and the problems of each client
    file that does not, by slug."""
    pages: list[ClientPage] = []
    broken: dict[str, list[str]] = {}
    paths = client_files(runbooks_dir)
    if only is not None:
        paths = [p for p in paths if p.stem == only]
        if not paths:
            raise UserError(f"{runbooks_dir / only}.yml: no such client file")
    for path in paths:
        try:
            page = client_page(path, display_root)
        except UserError as exc:
            broken[path.stem] = exc.lines()
            continue
        if page is not None:
            pages.append(page)
    if only is None:
        prune(runbooks_dir, paths)  # every client file was read: entries of others are stale
    pages.sort(key=lambda p: (p.summary.client.casefold(), p.summary.slug))
    return pages, broken


def client_page(path: Path, display_root: Path | None = None) -> ClientPage | None:
    """One client's page, or None for a draft (validated, never published: no page,
    handout or bundle; an unfinished draft never stops the build, `validate` shows why)."""
    try:
        # from .cache/render when neither the file, its saved checks nor the generator changed
        # since the page was last made
        made = rendered(path, _shown(path, display_root))
    except UserError:
        if is_draft(path):
            return None
        raise
    if made is None:
        return None
    return ClientPage(path, made)


def handouts(pages: list[ClientPage], cache: Path, processes: int | None = None) -> list[Path]:
    """Every client's handout PDF and the scripts' appendix, each built in `cache` only where
    it changed."""
    from generator.handout import build_handouts, write_scripts_appendix

    built = build_handouts([(p.values, p.path) for p in pages], cache, processes=processes)
    return [*built, write_scripts_appendix(cache)]


def home_table(pages: list[ClientPage]) -> str:
    """The Markdown table of every client for the home page."""
    return render_template("home.md.j2", "home page", pages=pages)


def downloads(page: ClientPage) -> dict[str, bytes]:
    """Files offered for download beside a client's page, by site path."""
    slug = page.summary.slug
    # regedit expects CRLF line ends; the bytes are exactly the derived text (DOMAIN.md 3)
    return {f"clients/{slug}/validports.reg": page.summary.reg_file.encode("ascii")}


def check_scripts() -> dict[str, bytes]:
    """The bundled check scripts, byte for byte, by site path."""
    return {f"downloads/checks/{name}": text.encode() for name, text in script_texts().items()}


@dataclass(frozen=True)
class FieldRow:
    """One field of the client file as the reference page lists it."""

    path: str
    type: str
    required: bool
    default: str | None
    allowed: str
    description: str


@dataclass(frozen=True)
class FieldSection:
    """A top-level part of the client file and its fields, as the reference page shows it."""

    name: str  # the top-level key, or "" for the top-level fields that hold a value
    about: FieldRow | None
    rows: list[FieldRow]


def schema_sections() -> list[FieldSection]:
    """The reference by section: the top-level values first, then each mapping's fields."""
    rows = schema_rows()
    parents = {r.path for r in rows if r.type in ("mapping", "list of mapping")}
    top = [r for r in rows if "." not in r.path and r.path not in parents]
    sections = [FieldSection("", None, top)]
    for row in rows:
        if row.path in parents and "." not in row.path:
            inside = [r for r in rows if r.path.startswith((row.path + ".", row.path + "[]."))]
            sections.append(FieldSection(row.path, row, inside))
    return sections


def schema_rows() -> list[FieldRow]:
    """Every field of the client file, flattened from the JSON Schema."""
    schema = json_schema()
    return _rows(schema, schema["$defs"], "")


def _rows(node: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[FieldRow]:
    """The rows of one object schema and of the objects inside it."""
    rows: list[FieldRow] = []
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        inner, is_list = _resolve(prop, defs)
        kind = _type_name(inner, is_list)
        default = prop.get("default")
        rows.append(
            FieldRow(
                path=path,
                type=kind,
                required=name in required,
                default=None if default is None or default == [] else _json_text(default),
                allowed=_allowed(inner, prop),
                description=prop.get("description", ""),
            )
        )
        if inner.get("type") == "object" or "properties" in inner:
            rows += _rows(inner, defs, f"{path}[]." if is_list else f"{path}.")
    return rows


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema a property holds, skipping `null` alternatives and `$ref`s; and whether it
    is a list."""
    options = prop.get("anyOf", [prop])
    chosen = next((o for o in options if o.get("type") != "null"), options[0])
    is_list = chosen.get("type") == "array"
    if is_list:
        chosen = chosen.get("items", {})
    if "$ref" in chosen:
        chosen = defs[chosen["$ref"].rsplit("/", 1)[1]]
    return chosen, is_list


def _type_name(inner: dict[str, Any], is_list: bool) -> str:
    """A short type name: text, whole number, number, true/false, date, mapping."""
    names = {
        "string": "text",
        "integer": "whole number",
        "number": "number",
        "boolean": "true/false",
        "object": "mapping",
    }
    if inner.get("format") == "date":
        base = "date"
    elif "enum" in inner:
        base = names.get(inner.get("type", "string"), "text")
    else:
        base = names.get(inner.get("type", "object"), "mapping")
    return f"list of {base}" if is_list else base


def _allowed(inner: dict[str, Any], prop: dict[str, Any]) -> str:
    """Allowed values or range, in words."""
    if "enum" in inner:
        return ", ".join(_json_text(v) for v in inner["enum"])
    low = inner.get("minimum", inner.get("exclusiveMinimum"))
    high = inner.get("maximum")
    if low is not None and high is not None:
        above = "more than " if "exclusiveMinimum" in inner else ""
        return f"{above}{_number(low)} to {_number(high)}"
    if prop.get("minItems") or inner.get("minItems"):
        return "at least one"
    return ""


def _number(value: float) -> str:
    """A bound as people write it: 2,147,483,647 rather than 2.14748e+09."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _json_text(value: Any) -> str:
    """A default or enum value as YAML would show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def scripts_page() -> str:
    """The check scripts' page: their text once for every client, out of the search index."""
    return render_template("scripts.md.j2", "check scripts page", scripts=script_texts())


def reference_page() -> str:
    """The client-file reference page, generated from the JSON Schema."""
    return render_template("reference.md.j2", "reference page", sections=schema_sections())


def _shown(path: Path, root: Path | None) -> str:
    """The path as the user knows it: relative to the project when it lies inside it."""
    if root is not None and path.resolve().is_relative_to(root.resolve()):
        return str(path.resolve().relative_to(root.resolve()))
    return str(path)


class _SiteError(UserError):
    """Problems of several client files, reported together."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        super().__init__("\n".join(lines))

    def lines(self) -> list[str]:
        """One line per problem."""
        return list(self._lines)
