"""The page layout: a `Procedure` as the MkDocs/Material Markdown of a client's page.

It places and styles; it decides nothing (the procedure already holds every word). Client
values arrive as `Code` parts and become code spans or fenced blocks; the client's own free
text becomes entities, so Markdown never reads structure into it. Every command is its own
fenced block, so the copy button gives exactly one line.
"""

from __future__ import annotations

import html
import re

from generator.derive import Values
from generator.diagram import topology_svg
from generator.evidence import Evidence as SavedEvidence
from generator.procedure import (
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
from generator.render import check_rendered, code, codeblock
from generator.render import markdown as notes
from generator.steps import build_procedure

FENCE_LANGUAGE = {
    "cmd": "bat",
    "powershell": "powershell",
    "shell": "sh",
    "data": "text",
    "file": "ini",
}
# Characters Markdown (or one of the site's extensions) can read as structure.
_MD_ACTIVE = re.compile(r"[\\`*_{}\[\]()#+\-.!|~<>&:=^]")


def free(value: str) -> str:
    """The client's free text as inert Markdown: every active character an entity.

    Entities rather than backslashes: a backslash escape shows literally wherever Markdown
    does not process it (titles, tables, some extensions); an entity reads the same everywhere.
    """
    return _MD_ACTIVE.sub(lambda m: f"&#{ord(m.group())};", value)


def inline(text: Text, numbers: dict[str, int]) -> str:
    """Inline text as Markdown."""
    out = []
    for part in text:
        if isinstance(part, str):
            out.append(html.escape(part, quote=False))
        elif isinstance(part, Code):
            out.append(code(part.value))
        elif isinstance(part, Strong):
            out.append(f"**{html.escape(part.words, quote=False)}**")
        elif isinstance(part, Free):
            out.append(free(part.text))
        elif isinstance(part, Ref):
            number = numbers[part.step_id]
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


def block(item: Block, numbers: dict[str, int], slug: str = "") -> str:
    """One body block as Markdown."""
    if isinstance(item, Para):
        return inline(item.text, numbers)
    if isinstance(item, Commands):
        parts = [inline(item.intro, numbers)] if item.intro else []
        return "\n\n".join(parts + [command_block(c, slug) for c in item.lines])
    if isinstance(item, Choice):
        tabs = []
        for option in item.options:
            inner = [f"**{option.label}**{{ .print-label }}", inline(option.intro, numbers)]
            inner += [command_block(c, slug) for c in option.lines]
            tabs.append(f'=== "{option.label}"\n\n' + _indent("\n\n".join(inner), 4))
        return "\n\n".join(tabs)
    if isinstance(item, Form):
        rows = [f"| {f.name} | {inline(f.value, numbers)} |" for f in item.fields]
        table = "| Field | Value |\n|---|---|\n" + "\n".join(rows)
        return (inline(item.intro, numbers) + "\n\n" if item.intro else "") + table
    if isinstance(item, Table):
        head = "| " + " | ".join(item.header) + " |\n|" + "---|" * len(item.header)
        body = "\n".join(
            "| " + " | ".join(inline(c, numbers) for c in row) + " |" for row in item.rows
        )
        return '<div class="table-scroll" markdown>\n\n' + head + "\n" + body + "\n\n</div>"
    if isinstance(item, Note):
        return f'!!! {item.kind} "{html.escape(item.title)}"\n' + _indent(
            inline(item.text, numbers), 4
        )
    if isinstance(item, Checklist):
        return "\n".join(f"- [ ] {inline(i, numbers)}" for i in item.items)
    if isinstance(item, Heading):
        return f"#### {free(item.text)}"
    raise TypeError(f"no page layout for {type(item).__name__}")


def step(s: Step, numbers: dict[str, int], slug: str) -> str:
    """One step: heading with its anchor, where, why, body, result, checks, warnings."""
    out = [f"### Step {s.number}: {html.escape(s.title)} {{ #{s.anchor} }}"]
    head = f"**Where:** {inline(s.where, numbers)}."
    if s.when:
        head += f"  \n**When:** {s.when.words()}."
    out.append(head)
    out.append(f"*{inline(s.why, numbers)}*")
    out += [block(b, numbers, slug) for b in s.body]
    if s.expected:
        out.append(f"**Expected:** {inline(s.expected, numbers)}")
    if s.verify:
        out.append("\n".join(f"- [ ] {inline(i, numbers)}" for i in s.verify))
    if s.if_fails:
        out.append(f"**If it fails:** {inline(s.if_fails, numbers)}")
    for w in s.warnings:
        out.append(
            f'!!! warning "{html.escape(w.title)}"\n'
            + _indent(f"{html.escape(w.message, quote=False)} (`{w.code}`)", 4)
        )
    return "\n\n".join(out)


def render_page(p: Procedure, diagram: str) -> str:
    """The client's whole page as Markdown."""
    n = p.numbers
    out = [f"# {free(p.client)}", inline(p.subtitle, n)]
    out.append("\n".join(f"- **{k}:** {inline(v, n)}" for k, v in p.facts))
    out.append(
        f"For work on site, print the [handout (PDF)](../handouts/{p.slug}.pdf): the "
        "same steps, numbered the same, with boxes to sign."
    )
    out.append(
        '<figure class="topology-figure">\n' + diagram + "\n<figcaption>The migration "
        "path: Office 365 reaches the RPC proxy on TCP 443; the proxy forwards to the "
        "ports listed in ValidPorts.</figcaption>\n</figure>"
    )
    out += [block(b, n) for b in p.summary]
    if p.warnings:
        steps = {w.code: s for s in p.steps() for w in s.warnings}
        items = [
            f"- [{html.escape(w.title)}](#{steps[w.code].anchor}) "
            f"({steps[w.code].anchor.replace('-', ' ')}): "
            f"{html.escape(w.message, quote=False)}"
            for w in p.warnings
        ]
        count = len(p.warnings)
        out.append(
            f'!!! warning "{count} point{"s" * (count != 1)} to watch for this client"\n'
            + _indent("\n".join(items), 4)
        )
    if p.notes:
        out.append("## Notes\n\n" + notes(p.notes))
    if p.evidence:
        out.append(evidence(p))
    out.append(
        "## Values at a glance\n\n"
        + "\n\n".join(
            f"- **{r.what}** ({', '.join(inline((ref,), n) for ref in r.steps)})"
            + (
                "\n\n" + _indent(codeblock(r.value[0].value), 4)
                if len(r.value) == 1 and isinstance(r.value[0], Code)
                else ": " + inline(r.value, n)
            )
            for r in p.sheet
        )
        + "\n\n"
        + inline(p.password_note, n)
    )
    if p.schedule:
        rows = "\n".join(
            f"| {r.date.isoformat()} | {html.escape(r.what)} | "
            f"{inline((r.step,), n) if r.step else ''} |"
            for r in p.schedule
        )
        out.append(
            f"## Schedule\n\n{html.escape(p.schedule_assumption)}\n\n"
            f"| Date | What | Step |\n|---|---|---|\n{rows}"
        )
    for phase in p.phases:
        out.append(f"## {html.escape(phase.title)}\n\n{inline(phase.intro, n)}")
        out += [step(s, n, p.slug) for s in phase.steps]
    out.append("## Rolling back\n\n" + inline(p.rollback_intro, n))
    for r in p.rollback:
        out.append(f"**{html.escape(r.what)}** ({inline((r.step,), n)}). {inline(r.how, n)}")
        out += [command_block(c) for c in r.lines]
        out.append(f"Possible until {r.until}.")
    for appendix in p.appendices:
        out.append(f"## {html.escape(appendix.title)} {{ #{appendix.id} }}")
        out.append(inline(appendix.intro, n))
        out += [block(b, n, p.slug) for b in appendix.blocks]
    out.append("## Troubleshooting")
    out += [f"**{html.escape(x.symptom)}.** {inline(x.answer, n)}" for x in p.troubleshooting]
    out.append(
        "## Check scripts\n\n" + inline(p.scripts_note, n) + " See "
        "[the check scripts](../reference/check-scripts.md)."
    )
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
    stale = (
        f'!!! warning "These results are out of date"\n    {html.escape(e.stale)}\n\n'
        if e.stale
        else ""
    )
    return (
        f'## Latest checks\n\n{stale}<p class="evidence">Checked <time datetime="'
        f'{e.checked_at.isoformat()}">{e.checked_at.strftime("%Y-%m-%d %H:%M UTC")}</time> '
        f"from {free(e.checked_from)}: {e.summary}.</p>\n\n"
        f"| Status | Check | Target | Detail |\n|---|---|---|---|\n{rows}\n\n"
        f"Run this again to refresh them:\n\n{command_block(e.refresh)}"
    )


def render_runbook(values: Values, revision: str, evidence: SavedEvidence | None = None) -> str:
    """The runbook page of one client, checked for leftover placeholders."""
    procedure = build_procedure(values, revision, evidence)
    return check_rendered(render_page(procedure, topology_svg(values)), values.slug)
