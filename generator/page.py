"""The page layout: a `Procedure` as the MkDocs/Material Markdown of a client's page.

It places and styles; it decides nothing (the procedure already holds every word). Client
values arrive as `Code` parts and become code spans or fenced blocks; the client's own free
text becomes entities, so Markdown never reads structure into it. Every command is its own
fenced block, so the copy button gives exactly one line; so is every value of a form, which
is a list rather than a table so that nothing long wraps inside a cell on a phone.

The page is made for a phone, for search and for ticking: the procedure's prose is kept out
of the search index (`quiet`), an indexed "Names" line carries the client's hosts and
domains, each command that runs a check script links to the one page holding its source, and
the verify lists are task lists that `docs/javascripts/progress.js` makes tickable.
"""

from __future__ import annotations

import html

from generator.derive import Values
from generator.diagram import Drawing, topology
from generator.evidence import Evidence as SavedEvidence
from generator.procedure import (
    ANY_TIME,
    WORDING,
    Block,
    Checklist,
    Choice,
    Code,
    Command,
    Commands,
    Form,
    Free,
    Heading,
    Note,
    Para,
    Procedure,
    Ref,
    Step,
    Strong,
    Table,
    Text,
)
from generator.render import check_rendered, code, codeblock, text
from generator.render import markdown as notes
from generator.scripts import SCRIPTS
from generator.steps import build_procedure

FENCE_LANGUAGE = {
    "cmd": "bat",
    "powershell": "powershell",
    "shell": "sh",
    "data": "text",
    "file": "ini",
}
SCRIPTS_PAGE = "../reference/check-scripts.md"


def free(value: str) -> str:
    """The client's free text as inert Markdown (`render.text`)."""
    return text(value)


# The author's words as Markdown, by their text: nearly every sentence is the same on every
# client's page, and escaping it again for each (hundreds a page) was a tenth of a page's
# time. Bounded, as a few sentences hold a client's figures.
_WORDS: dict[str, str] = {}
_WORDS_KEPT = 20_000


def words(text: str) -> str:
    """The author's words as Markdown: `&`, `<` and `>` as entities."""
    found = _WORDS.get(text)
    if found is None:
        found = html.escape(text, quote=False)
        if len(_WORDS) < _WORDS_KEPT:
            _WORDS[text] = found
    return found


def inline(text: Text, numbers: dict[str, int]) -> str:
    """Inline text as Markdown."""
    if len(text) == 1 and isinstance(text[0], str):  # a third of all: one plain sentence
        return words(text[0])
    out = []
    for part in text:
        if isinstance(part, str):
            out.append(words(part))
        elif isinstance(part, Code):
            out.append(code(part.value))
        elif isinstance(part, Strong):
            out.append(f"**{words(part.words)}**")
        elif isinstance(part, Free):
            out.append(free(part.text))
        elif isinstance(part, Ref):
            number = part.number(numbers)
            out.append(f"[step {number}](#step-{number})")
    return "".join(out)


def _indent(markdown: str, by: int) -> str:
    pad = " " * by
    return "\n".join(pad + line if line else "" for line in markdown.split("\n"))


def command_block(command: Command, slug: str = "") -> str:
    """One command as a fenced block of its own; a file also as a download beside the page."""
    block = codeblock(command.text, FENCE_LANGUAGE[command.kind])
    if command.file_name and slug:
        link = f"[Download {command.file_name}]({slug}/{command.file_name})"
        return f"{link}\n\n{block}"
    return block


def scripts_used(commands: tuple[Command, ...]) -> list[str]:
    """The bundled check scripts these command lines run, in the order they first appear."""
    used: list[str] = []
    for command in commands:
        if ".py" not in command.text:  # every script's name ends so; most lines run none
            continue
        for word in command.text.split():
            if word in SCRIPTS and word not in used:
                used.append(word)
    return used


def script_links(commands: tuple[Command, ...]) -> str:
    """A line linking each script these commands run to its one published copy, or ""."""
    used = scripts_used(commands)
    if not used:
        return ""
    links = ", ".join(f"[{name}]({SCRIPTS_PAGE}#{name.replace('.', '')})" for name in used)
    return f"Source and download: {links}."


def quiet(parts: list[str]) -> str:
    """Blocks shown on the page but kept out of its search index, or "" for none.

    The procedure's prose and commands are much the same on every client's page: indexed,
    they would make the index grow by the whole page with each client and bury the client's
    own names. Headings (step titles), the names line, values, notes and warnings stay
    indexed; Material's search plugin skips elements marked `data-search-exclude`.
    """
    shown = [p for p in parts if p]
    if not shown:
        return ""
    # a <section>, not a <div>: the plugin matches elements by tag name alone, so a skipped
    # <div> would end at the first inner </div> (a code block's)
    return "<section data-search-exclude markdown>\n\n" + "\n\n".join(shown) + "\n\n</section>"


def blocks(
    items: tuple[Block, ...], numbers: dict[str, int], slug: str, lead: tuple[str, ...] = ()
) -> list[str]:
    """Body blocks (after `lead`, Markdown already) as Markdown: notes and sub-headings
    indexed, the rest kept out of search."""
    out: list[str] = []
    run: list[str] = list(lead)
    for item in items:
        if isinstance(item, (Note, Heading)):
            out.append(quiet(run))
            run = []
            out.append(block(item, numbers, slug))
        else:
            run.append(block(item, numbers, slug))
    out.append(quiet(run))
    return [o for o in out if o]


def table_head(header: tuple[str, ...]) -> str:
    """A Markdown table's header row and its rule."""
    return "| " + " | ".join(header) + " |\n|" + "---|" * len(header)


def field(name: str, value: Text, numbers: dict[str, int], refs: str = "") -> str:
    """A form field or a value as a list item: a value to type is a block with a copy button.

    A list rather than a table: on a phone a table cell would wrap a long value over many
    lines, and a cell has no copy button.
    """
    label = f"**{name}** ({refs})" if refs else f"**{name}**"
    if len(value) == 1 and isinstance(value[0], Code):
        return f"- {label}\n\n" + _indent(codeblock(value[0].value), 4)
    return f"- {label}: {inline(value, numbers)}"


def commands_block(
    intro: Text, lines: tuple[Command, ...], numbers: dict[str, int], slug: str
) -> list[str]:
    """A lead-in, one fenced block per command, then links to the scripts they run."""
    parts = [inline(intro, numbers)] if intro else []
    parts += [command_block(c, slug) for c in lines]
    links = script_links(lines)
    return parts + [links] if links else parts


def block(item: Block, numbers: dict[str, int], slug: str = "") -> str:
    """One body block as Markdown."""
    if isinstance(item, Para):
        return inline(item.text, numbers)
    if isinstance(item, Commands):
        return "\n\n".join(commands_block(item.intro, item.lines, numbers, slug))
    if isinstance(item, Choice):
        tabs = []
        for option in item.options:
            inner = [f"**{option.label}**{{ .print-label }}"]
            inner += commands_block(option.intro, option.lines, numbers, slug)
            tabs.append(f'=== "{option.label}"\n\n' + _indent("\n\n".join(inner), 4))
        return "\n\n".join(tabs)
    if isinstance(item, Form):
        fields = "\n\n".join(field(f.name, f.value, numbers) for f in item.fields)
        return (inline(item.intro, numbers) + "\n\n" if item.intro else "") + fields
    if isinstance(item, Table):
        head = table_head(item.header)
        body = "\n".join(
            "| " + " | ".join(inline(c, numbers) for c in row) + " |" for row in item.rows
        )
        return '<div class="table-scroll" markdown>\n\n' + head + "\n" + body + "\n\n</div>"
    if isinstance(item, Note):
        return f'!!! {item.kind} "{html.escape(item.title)}"\n' + _indent(
            inline(item.text, numbers), 4
        )
    if isinstance(item, Checklist):
        return checklist(item.items, numbers)
    if isinstance(item, Heading):
        return f"#### {free(item.text)}"
    raise TypeError(f"no page layout for {type(item).__name__}")


def checklist(items: tuple[Text, ...], numbers: dict[str, int]) -> str:
    """Boxes to tick: real checkboxes on the page (progress.js), empty boxes on paper."""
    return "\n".join(f"- [ ] {inline(i, numbers)}" for i in items)


def step(s: Step, numbers: dict[str, int], slug: str) -> str:
    """One step: heading with its anchor, where, why, body, result, checks, warnings."""
    head = f"**{WORDING.where}:** {inline(s.where, numbers)}."
    if s.when:
        head += f"  \n**{WORDING.when}:** {s.when.words()}."
    out = [f"### Step {s.number}: {words(s.title)} {{ #{s.anchor} }}"]
    out += blocks(s.body, numbers, slug, (head, f"*{inline(s.why, numbers)}*"))
    after = []
    if s.expected:
        after.append(f"**{WORDING.expected}:** {inline(s.expected, numbers)}")
    if s.verify:
        after.append(checklist(s.verify, numbers))
    if s.if_fails:
        after.append(f"**{WORDING.if_fails}:** {inline(s.if_fails, numbers)}")
    if s.blanks or s.long_blanks:
        after.append(write_down(s))
    out.append(quiet(after))
    for w in s.warnings:
        out.append(
            f'!!! warning "{html.escape(w.title)}"\n'
            + _indent(f"{html.escape(w.message, quote=False)} (`{w.code}`)", 4)
        )
    return "\n\n".join(o for o in out if o)


def write_down(s: Step) -> str:
    """What the handout gives lines to write on, as one line: the page's script makes each a
    field kept in the browser (progress.js); a long one (a record that runs long) a larger one."""
    fields = [f"<span>{html.escape(label)}</span>" for label in s.blanks]
    fields += [f'<span class="long">{html.escape(label)}</span>' for label in s.long_blanks]
    return f"**{WORDING.write_down}:** " + "; ".join(fields) + ".\n{: .runbook-blanks }"


def names(values: Values) -> str:
    """The client's host names, public name and domains: one indexed line, so a search for
    any of them finds this page first."""
    found: list[str] = []
    topo = values.topology
    hosts = [(topo.proxy_host.name, topo.proxy_host.fqdn)]
    hosts += [(h.name, h.fqdn) for h in topo.servers]
    hosts += [(h.name, h.fqdn) for h in topo.global_catalogs]
    for name in [
        values.public_fqdn,
        *[fqdn for _, fqdn in hosts],
        *[netbios for netbios, _ in hosts],
        *[d.domain for d in values.dns],
    ]:
        if name not in found:
            found.append(name)
    return '<p class="names" markdown>**Names:** ' + ", ".join(code(n) for n in found) + "</p>"


def figure(diagram: Drawing | str) -> str:
    """The topology drawing across the content's width; below its readable width (a phone)
    it keeps that width and scrolls inside its own frame, never the page."""
    svg, least = (diagram.svg, diagram.min_width) if isinstance(diagram, Drawing) else (diagram, 0)
    return (
        '<figure class="topology-figure" data-search-exclude>\n'
        f'<div class="topology-scroll" style="--topology-min-width: {least}px">\n{svg}\n</div>\n'
        f"<figcaption>{WORDING.topology}: {WORDING.topology_caption}</figcaption>\n</figure>"
    )


def render_page(p: Procedure, diagram: Drawing | str, names: str = "") -> str:
    """The client's whole page as Markdown."""
    n = p.numbers
    out = [f"# {free(p.client)}", inline(p.subtitle, n)]
    out.append("\n".join(f"- **{k}:** {inline(v, n) or '*not planned yet*'}" for k, v in p.facts))
    if names:
        out.append(names)
    out.append(
        f"For work on site, print the [handout (PDF)](../handouts/{p.slug}.pdf): the "
        "same steps, numbered the same, with boxes to sign."
    )
    out.append(figure(diagram))
    out += blocks(p.summary, n, p.slug)
    if p.warnings:
        steps = {w.code: s for s in p.steps() for w in s.warnings}
        items = [
            f"- [{html.escape(w.title)}](#{steps[w.code].anchor}) "
            f"({steps[w.code].anchor.replace('-', ' ')}): "
            f"{html.escape(w.message, quote=False)}"
            for w in p.warnings
        ]
        count = len(p.warnings)
        out.append(f'!!! warning "{WORDING.watch} ({count})"\n' + _indent("\n".join(items), 4))
    if p.notes:
        out.append(f"## {WORDING.notes}\n\n" + notes(p.notes))
    if p.evidence:
        out.append(evidence(p))
    out.append(
        f"## {WORDING.values}\n\n"
        + "\n\n".join(
            field(r.what, r.value, n, ", ".join(inline((ref,), n) for ref in r.steps))
            for r in p.sheet
        )
        + "\n\n"
        + inline(p.password_note, n)
    )
    # where the scripts the steps name come from, before the first step names one
    out.append(
        f"## {WORDING.scripts}\n\n" + inline(p.scripts_note, n) + " See "
        f"[the check scripts]({SCRIPTS_PAGE})."
    )
    if p.schedule:
        rows = "\n".join(
            f"| {r.date.isoformat()} | {html.escape(r.what)} | "
            f"{inline((r.step,), n) if r.step else ''} |"
            for r in p.schedule
        )
        out.append(
            f"## {WORDING.schedule}\n\n{html.escape(p.schedule_assumption)}\n\n"
            f"{table_head(WORDING.schedule_columns)}\n{rows}"
        )
    out.append(
        f'<div class="runbook-progress" data-client="{p.slug}" data-search-exclude hidden></div>'
    )
    for phase in p.phases:
        out.append(f"## {html.escape(phase.title)}\n\n{quiet([inline(phase.intro, n)])}")
        out += [step(s, n, p.slug) for s in phase.steps]
    back = [inline(p.rollback_intro, n)]
    for r in p.rollback:
        back.append(f"**{html.escape(r.what)}** ({inline((r.step,), n)}). {inline(r.how, n)}")
        back += [command_block(c) for c in r.lines]
        back.append(
            "Possible at any time." if r.until == ANY_TIME else f"Possible until {r.until}."
        )
    out.append(f"## {WORDING.rollback}\n\n" + quiet(back))
    for appendix in p.appendices:
        out.append(f"## {html.escape(appendix.title)} {{ #{appendix.id} }}")
        parts = [inline(appendix.intro, n)] + [block(b, n, p.slug) for b in appendix.blocks]
        out.append(quiet(parts))
    trouble = [f"**{html.escape(x.symptom)}.** {inline(x.answer, n)}" for x in p.troubleshooting]
    out.append(f"## {WORDING.troubleshooting}\n\n" + quiet(trouble))
    out.append(f"Revision `{p.revision}`.")
    return "\n\n".join(out) + "\n"


def evidence(p: Procedure) -> str:
    """The latest saved checks: when, from where, each result as text."""
    e = p.evidence
    assert e is not None
    rows = "\n".join(
        "| **" + status.upper() + "** | " + " | ".join(free(x) for x in rest) + " |"
        for status, *rest in e.rows
    )
    stale = f'!!! warning "{WORDING.evidence_stale}"\n    {free(e.stale)}\n\n' if e.stale else ""
    return (
        f'## {WORDING.evidence}\n\n{stale}<p class="evidence">Checked <time datetime="'
        f'{e.checked_at.isoformat()}">{e.checked_at.strftime("%Y-%m-%d %H:%M UTC")}</time> '
        f"from {free(e.checked_from)}: {e.summary}. {WORDING.evidence_refresh}</p>\n\n"
        f"{command_block(e.refresh)}\n\n"
        f"{table_head(WORDING.evidence_columns)}\n{rows}"
    )


def render_runbook(values: Values, revision: str, evidence: SavedEvidence | None = None) -> str:
    """The runbook page of one client, checked for leftover placeholders."""
    procedure = build_procedure(values, revision, evidence)
    drawing, listed = topology(values), names(values)
    page = render_page(procedure, drawing, listed)
    # The placeholder rule guards what the generator wrote, not the consultant's prose: a
    # "TBD" in the notes is theirs to leave (issue: drafts and notes); nor the saved checks'
    # text it quotes (a laptop named tbd-pc), for which the page is read with a stand-in.
    if procedure.checked_as is not None:
        checked = render_page(procedure.checked_as, drawing, listed)
    else:
        checked = page
    generated = checked.replace(notes(values.notes), "") if values.notes else checked
    check_rendered(generated, values.slug)
    return page
