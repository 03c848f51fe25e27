"""The procedure: a client's runbook as data, numbered once, laid out twice.

`generator.steps` builds a `Procedure` from `Values`; the page layout (`generator.page`) and the
handout layout (`generator.handout`) only place what it holds. Prose is the author's words;
client values enter it only as `Code` parts (or `Free` for the client's own text), so each
layout escapes them its own way. A reference to another step is a `Ref` to its id, resolved
to "step N" when the procedure is numbered; a reference to a step that does not exist is an
error at build time, never a dangling number on paper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

# --- inline text -------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """A value or literal shown in a monospace font, exactly (a host name, a key, a field)."""

    value: str


@dataclass(frozen=True)
class Strong:
    """The author's words, emphasised (a menu item, a button, a state to look for)."""

    words: str


@dataclass(frozen=True)
class Free:
    """The client file's free text (a name): escaped by each layout, never markup."""

    text: str


@dataclass(frozen=True)
class Ref:
    """ "step N" for the step with this id; N is known once the procedure is numbered."""

    step_id: str

    def number(self, numbers: dict[str, int]) -> int:
        """The number of the step named, or a clear error when no such step exists (a
        reference to a step that does not apply to this client)."""
        try:
            return numbers[self.step_id]
        except KeyError:
            raise ValueError(
                f"a reference names the step {self.step_id!r}, which does not exist"
            ) from None


Part = str | Code | Strong | Free | Ref
Text = tuple[Part, ...]


def t(*parts: Part | None) -> Text:
    """Inline text from parts; `None` parts are dropped so optional clauses read naturally."""
    # every part but None and "" is true (the dataclasses define no __bool__ or __len__), and
    # `filter` tests truth without calling the dataclasses' __eq__ (hundreds of texts a client)
    return tuple(filter(None, parts))


def join_codes(values: list[str], last: str = "and") -> Text:
    """`a`, `b` and `c` as code parts with the author's separators."""
    return join_parts([Code(value) for value in values], last)


def join_parts(parts: list[Part], last: str = "and") -> Text:
    """Parts read as one list: `a, b and c`."""
    out: list[Part] = []
    for i, part in enumerate(parts):
        if i:
            out.append(f" {last} " if i == len(parts) - 1 else ", ")
        out.append(part)
    return tuple(out)


def plain(text: Text, numbers: dict[str, int] | None = None) -> str:
    """The text without markup: what a reader sees (for titles, bookmarks and tests)."""
    out = []
    for part in text:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Code):
            out.append(part.value)
        elif isinstance(part, Strong):
            out.append(part.words)
        elif isinstance(part, Free):
            out.append(part.text)
        else:
            out.append(f"step {part.number(numbers)}" if numbers else part.step_id)
    return "".join(out)


# --- commands and blocks -----------------------------------------------------------------

# cmd: a Windows command prompt line; powershell: Exchange Online PowerShell or Windows
# PowerShell; shell: a POSIX shell on a laptop; data: a value typed or pasted as it stands
# (ValidPorts, a URL, a DNS record); file: the content of a file, several lines.
CommandKind = Literal["cmd", "powershell", "shell", "data", "file"]


@dataclass(frozen=True)
class Command:
    """One exact line to type or paste (or a file's content for kind `file`)."""

    text: str
    kind: CommandKind
    file_name: str = ""  # kind `file`: the name it is offered and saved under


@dataclass(frozen=True)
class Para:
    """A paragraph of the author's words."""

    text: Text


@dataclass(frozen=True)
class Commands:
    """Command lines run one after the other, with an optional lead-in."""

    lines: tuple[Command, ...]
    intro: Text = ()


@dataclass(frozen=True)
class Option:
    """One way of doing the same thing (telnet, Test-NetConnection, nc, a check script)."""

    label: str
    intro: Text
    lines: tuple[Command, ...]


@dataclass(frozen=True)
class Choice:
    """Alternatives for one task: tabs on the page, one after the other on paper."""

    options: tuple[Option, ...]


@dataclass(frozen=True)
class FormField:
    """A field of a form or wizard and what to type into it."""

    name: str
    value: Text
    typed: bool = True  # False: the value is the author's words, not something to type


@dataclass(frozen=True)
class Form:
    """A form's fields with their values, in the order the form asks for them."""

    fields: tuple[FormField, ...]
    intro: Text = ()


@dataclass(frozen=True)
class Table:
    """A small table of text."""

    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]


NoteKind = Literal["note", "warning", "danger", "tip"]


@dataclass(frozen=True)
class Note:
    """A boxed remark: a caution, a point of no return, a tip."""

    kind: NoteKind
    title: str
    text: Text


@dataclass(frozen=True)
class Checklist:
    """Boxes to tick, each a statement that must hold."""

    items: tuple[Text, ...]


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a step or section (one per domain, say)."""

    text: str


Block = Para | Commands | Choice | Form | Table | Note | Checklist | Heading


# --- steps ------------------------------------------------------------------------------


Relation = Literal["by", "on", "not before", "expected by"]


@dataclass(frozen=True)
class When:
    """When a step is done: `by`, `on` or `not before` a date of the schedule."""

    relation: Relation
    date: dt.date

    def words(self) -> str:
        """`Not before 2027-01-19`, as both layouts print it."""
        return f"{self.relation.capitalize()} {self.date.isoformat()}"


@dataclass(frozen=True)
class Warning:
    """A warning of `Values.warnings`, shown at the one step it concerns."""

    code: str
    title: str
    message: str


# how a step is signed off on paper: the consultant's initials; the go/no-go decision,
# signed by both sides; or the initials and the client's name and signature, for a step
# that cannot be undone or ends the client's use of something (the batch, the old server)
SignOff = Literal["initials", "go-no-go", "client"]


@dataclass(frozen=True)
class Step:
    """One numbered step: where, why, what to do, what to expect, how to verify, if it fails."""

    id: str  # stable name, e.g. `set-validports`; the anchor is `step-<number>`
    title: str
    where: Text
    why: Text
    body: tuple[Block, ...] = ()
    expected: Text = ()
    verify: tuple[Text, ...] = ()
    if_fails: Text = ()
    warnings: tuple[Warning, ...] = ()
    when: When | None = None
    blanks: tuple[str, ...] = ()  # labelled blanks the consultant fills in on site
    # labelled blanks for a value too long for one line (a registry value, a DNS record):
    # on paper the label, then several lines the width of the page
    long_blanks: tuple[str, ...] = ()
    signoff: SignOff = "initials"
    number: int = 0  # set by `Procedure.numbered`

    @property
    def anchor(self) -> str:
        """The contract's id: `step-<number>`."""
        return f"step-{self.number}"

    def commands(self) -> list[Command]:
        """Every command of the step, in order: what `runbook steps --json` lists."""
        out: list[Command] = []
        for block in self.body:
            if isinstance(block, Commands):
                out += block.lines
            elif isinstance(block, Choice):
                for option in block.options:
                    out += option.lines
        return out


@dataclass(frozen=True)
class Phase:
    """A run of steps with a heading: the gate, the server, Office 365, the switch, after."""

    title: str
    intro: Text
    steps: tuple[Step, ...]


# --- reference parts ---------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """A value to type, where it goes and the steps that use it."""

    what: str
    value: Text
    steps: tuple[Ref, ...]


@dataclass(frozen=True)
class ScheduleRow:
    """A date of the plan and the step it belongs to."""

    date: dt.date
    what: str
    step: Ref | None


# `RollbackRow.until` of a change that can be undone whenever it is needed
ANY_TIME = "any time"


@dataclass(frozen=True)
class Wording:
    """The runbook's own headings and the sentences around its tables, worded once: the page
    and the handout place them, neither writes them (`WORDING`)."""

    where: str = "Where"  # a step's labels
    when: str = "When"
    why: str = "Why"  # the page sets the reason apart in italics instead
    expected: str = "Expected"
    if_fails: str = "If it fails"
    write_down: str = "To write down"  # the page's line of a step's blanks (the handout's lines)
    values: str = "Values to type"
    topology: str = "The migration path"
    topology_caption: str = (
        "Office 365 reaches the RPC proxy on TCP 443; the proxy forwards to the ports listed "
        "in ValidPorts."
    )
    watch: str = "Points to watch"
    notes: str = "Client notes"
    evidence: str = "Latest checks"
    evidence_stale: str = "These results are out of date"
    evidence_refresh: str = (
        "Results older than a day say little about today: run this line again on site to "
        "refresh them."
    )
    evidence_columns: tuple[str, ...] = ("Status", "Check", "Target", "Detail")
    schedule: str = "Schedule"
    schedule_columns: tuple[str, ...] = ("Date", "What", "Step")
    rollback: str = "Rolling back"
    troubleshooting: str = "Troubleshooting"
    scripts: str = "Check scripts"


WORDING = Wording()


@dataclass(frozen=True)
class RollbackRow:
    """What a step changed, how to undo it, and until when that is possible."""

    what: str
    step: Ref
    how: Text
    lines: tuple[Command, ...]
    until: str  # the event after which it is no longer possible, or ANY_TIME


@dataclass(frozen=True)
class Trouble:
    """A symptom and what it means."""

    symptom: str
    answer: Text


@dataclass(frozen=True)
class Appendix:
    """A part of the runbook outside the numbered steps (Plan B, what is not moved)."""

    id: str
    title: str
    intro: Text
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Evidence:
    """The latest saved check results, as the procedure shows them."""

    checked_at: dt.datetime
    checked_from: str
    summary: str  # "3 passed, 1 warned, 0 failed, 0 skipped"
    rows: tuple[tuple[str, str, str, str], ...]  # status, check, target, detail
    stale: str | None  # why the results no longer match the client file, or None
    refresh: Command


@dataclass(frozen=True)
class Procedure:
    """One client's whole runbook: the numbered steps and the reference parts around them."""

    client: str
    slug: str
    revision: str
    subtitle: Text
    facts: tuple[tuple[str, Text], ...]  # consultant, window, revision...
    summary: tuple[Block, ...]  # what this runbook is and whether the path can work
    sheet: tuple[SheetRow, ...]
    password_note: Text
    schedule: tuple[ScheduleRow, ...]
    schedule_assumption: str
    warnings: tuple[Warning, ...]
    notes: str | None
    evidence: Evidence | None
    phases: tuple[Phase, ...]
    rollback_intro: Text
    rollback: tuple[RollbackRow, ...]
    troubleshooting: tuple[Trouble, ...]
    appendices: tuple[Appendix, ...]
    scripts_note: Text
    numbers: dict[str, int] = field(default_factory=dict)
    # The same procedure with a stand-in for the saved checks' text, when that text holds a
    # placeholder (a laptop named tbd-pc): the layouts check its render for placeholders, as
    # the rule guards the generator's words, not what it quotes. None: check this one.
    checked_as: Procedure | None = None

    def steps(self) -> Iterator[Step]:
        """Every step, in order."""
        for phase in self.phases:
            yield from phase.steps

    def outline(self) -> list[dict[str, object]]:
        """Number, id, title, where and commands of every step: `runbook steps --json`."""
        return [
            {
                "number": s.number,
                "id": s.anchor,
                "name": s.id,
                "title": s.title,
                "where": plain(s.where, self.numbers),
                "why": plain(s.why, self.numbers),
                "commands": [c.text for c in s.commands()],
                "warnings": [w.code for w in s.warnings],
                "when": s.when.words() if s.when else None,
                "signoff": s.signoff,
            }
            for s in self.steps()
        ]


def numbered(procedure: Procedure) -> Procedure:
    """The procedure with steps numbered 1..n."""
    from dataclasses import replace

    numbers: dict[str, int] = {}
    phases = []
    for phase in procedure.phases:
        steps = []
        for step in phase.steps:
            if step.id in numbers:
                raise ValueError(f"two steps are called {step.id!r}")
            numbers[step.id] = len(numbers) + 1
            steps.append(_with_number(step, numbers[step.id]))
        phases.append(replace(phase, steps=tuple(steps)))
    # every reference is resolved by the layouts through `Ref.number`, which names a
    # reference to a step that does not exist
    return replace(procedure, phases=tuple(phases), numbers=numbers)


def _with_number(step: Step, number: int) -> Step:
    """`dataclasses.replace(step, number=number)`, at a tenth of its cost (forty steps a
    client, thousands of clients a build): a `Step` has no `__post_init__`, no `init=False`
    field and no slots, so a copy of its fields is exactly the step `replace` would make."""
    copy = object.__new__(Step)
    copy.__dict__.update(step.__dict__, number=number)
    return copy
