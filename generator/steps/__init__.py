"""Stage "procedure": a client's numbered steps and reference parts, built once from `Values`.

One function per step: it decides from `Values` whether the step applies and writes its words
once; the page and the handout lay out what it returns (`generator.procedure`). Each warning
code belongs to exactly one step (`WARNING_STEPS`). Sentences cite the DOMAIN.md section
they rest on in the comment above them when the fact is not obvious from the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from generator.derive import Values
from generator.evidence import Evidence as SavedEvidence
from generator.evidence import staleness
from generator.placeholders import find_placeholder
from generator.procedure import (
    Code,
    Evidence,
    Free,
    Note,
    Phase,
    Procedure,
    Ref,
    ScheduleRow,
    Step,
    Text,
    Warning,
    join_codes,
    numbered,
    t,
)
from generator.steps.common import WARNING_STEPS, WARNING_TITLES, StepBuilder, _sh
from generator.steps.gate import gate_decision, gate_microsoft, gate_outside, requirements
from generator.steps.groundwork import (
    certificate,
    connection_timeout,
    enabled_value,
    esm_topology,
    rpc_component,
    rpc_directory,
)
from generator.steps.office365 import (
    batch,
    endpoint,
    initial_sync,
    lower_ttl,
    not_moved,
    sign_in,
    start_batch,
)
from generator.steps.reference import (
    SCHEDULE_STEPS,
    _plan_b,
    _rollback,
    _sheet,
    _support,
    _troubleshooting,
)
from generator.steps.switch import (
    autodiscover,
    delete_batch,
    go_no_go,
    licences,
    old_server,
    outlook_profiles,
    relaying_devices,
    switch_mx,
    wait_72h,
)
from generator.steps.validports import (
    apply_validports,
    backup_validports,
    gate_again,
    inside_ports,
    nspi,
    read_validports,
    resolve_public_name,
    set_validports,
    verify_validports,
)

__all__ = ["WARNING_STEPS", "WARNING_TITLES", "build_procedure"]


def _validports_phase(steps: list[Step]) -> str:
    """The phase's title says what it holds: the address-book steps (`nspi`) only where a
    global catalog needs them (DOMAIN.md 5)."""
    if any(s.id.startswith("nspi-") for s in steps):
        return "ValidPorts and the address book"
    return "ValidPorts"


# Each phase: its title (or how to title it from the steps it holds), intro and steps.
PhaseTitle = str | Callable[[list[Step]], str]
PHASES: tuple[tuple[PhaseTitle, str, tuple[StepBuilder, ...]], ...] = (
    (
        "The gate: can this server be migrated?",
        "Nothing on the server is changed yet: these steps show whether the path can work.",
        (requirements, gate_outside, gate_microsoft, gate_decision),
    ),
    (
        "Groundwork on the RPC proxy server",
        "What RPC over HTTP needs on the server, checked and put right.",
        (
            certificate,
            rpc_component,
            rpc_directory,
            connection_timeout,
            enabled_value,
        ),
    ),
    (
        _validports_phase,
        "What the proxy may forward to, set and proved, then the gate once more.",
        (
            # before the ports are tried: the proxy's own lines try the public name too
            resolve_public_name,
            inside_ports,
            # read and backed up before the marks: marking a front-end makes its System
            # Attendant write ValidPorts at once (DOMAIN.md 3), and the rollback needs the
            # value as it was before any change (DOMAIN.md 4)
            read_validports,
            backup_validports,
            esm_topology,
            set_validports,
            nspi,
            apply_validports,
            verify_validports,
            gate_again,
        ),
    ),
    (
        "Office 365",
        "The tenant side: DNS prepared, what is not moved, the endpoint, the batch, the first "
        "copy.",
        (lower_ttl, not_moved, sign_in, endpoint, batch, start_batch, initial_sync),
    ),
    (
        "The switch and after",
        "In this order: licences, MX and SPF, Autodiscover, profiles, 72 hours, the batch "
        "deleted, devices re-pointed, the old server retired.",
        (
            licences,
            go_no_go,
            switch_mx,
            autodiscover,
            outlook_profiles,
            wait_72h,
            delete_batch,
            relaying_devices,
            old_server,
        ),
    ),
)


def build_procedure(v: Values, revision: str, evidence: SavedEvidence | None = None) -> Procedure:
    """The whole, numbered procedure of one client."""
    procedure = _build(v, revision, evidence)
    unquoted = _unquoted(evidence) if evidence is not None else None
    if unquoted is None:
        return procedure
    return replace(procedure, checked_as=_build(v, revision, unquoted))


# What stands in for a saved check's text that holds a placeholder, in `Procedure.checked_as`.
QUOTED = "quoted"


def _unquoted(saved: SavedEvidence) -> SavedEvidence | None:
    """The saved checks with a stand-in for each text of theirs that holds a placeholder (the
    machine they ran on, a check's answer), or None when none does."""
    quoted = {
        saved.checked_from,
        *(x for r in saved.results for x in (r.check, r.target, r.detail)),
    }
    held = {text for text in quoted if find_placeholder(text)}
    if not held:
        return None  # nearly always: nothing to copy

    def plain(text: str) -> str:
        return QUOTED if text in held else text

    results = [
        r.model_copy(
            update={"check": plain(r.check), "target": plain(r.target), "detail": plain(r.detail)}
        )
        for r in saved.results
    ]
    return saved.model_copy(update={"checked_from": plain(saved.checked_from), "results": results})


def _build(v: Values, revision: str, evidence: SavedEvidence | None) -> Procedure:
    """`build_procedure` without `Procedure.checked_as`."""
    phases = []
    for title, intro, builders in PHASES:
        steps: list[Step] = []
        for build in builders:
            made = build(v)
            steps += made if isinstance(made, list) else [made] if made else []
        named = title if isinstance(title, str) else title(steps)
        phases.append(Phase(named, t(intro), tuple(steps)))
    warnings = tuple(Warning(w.code, WARNING_TITLES[w.code], w.message) for w in v.warnings)
    phases = [_with_warnings(p, warnings) for p in phases]
    if evidence is not None:
        phases = [_with_evidence(p, _evidence_note(v, evidence)) for p in phases]
    placed = {w.code for p in phases for s in p.steps for w in s.warnings}
    for w in warnings:
        if w.code not in placed:
            raise ValueError(
                f"warning {w.code} belongs to step {WARNING_STEPS[w.code]!r}, "
                "which this client does not have"
            )
    facts: list[tuple[str, Text]] = []
    if v.consultant:
        facts.append(("Consultant", t(Free(v.consultant))))
    facts.append(
        (
            "Planned MX switch",
            t(v.window.isoformat()) if v.window else t(),
        )
    )
    facts.append(("Revision", t(Code(revision))))
    schedule = tuple(
        ScheduleRow(s.date, s.title, Ref(SCHEDULE_STEPS.get(s.step, s.step)))
        for s in (v.schedule.steps if v.schedule else [])
    )
    procedure = numbered(
        Procedure(
            client=v.client,
            slug=v.slug,
            revision=revision,
            subtitle=t(
                f"Cutover runbook: Exchange 2003 {v.service_pack_text} on ",
                Code(v.exchange_server),
                " to Office 365, through the RPC proxy at ",
                Code(v.public_fqdn),
                ".",
            ),
            facts=tuple(facts),
            summary=_support(v),
            sheet=_sheet(v),
            password_note=t(
                "The password of ",
                Code(v.migration_endpoint.account),
                " is typed "
                "on site when a form asks for it; it is never written into this "
                "runbook, the client file or a script.",
            ),
            schedule=schedule,
            schedule_assumption=v.schedule.assumption if v.schedule else "",
            warnings=warnings,
            notes=v.notes,
            evidence=_evidence(v, evidence) if evidence else None,
            phases=tuple(phases),
            rollback_intro=t(
                "Until the batch is deleted (",
                Ref("delete-batch"),
                "), the changes below can be undone, in the reverse order of the steps.",
            ),
            rollback=_rollback(v),
            troubleshooting=_troubleshooting(v),
            appendices=(_plan_b(v),),
            scripts_note=t(
                "The check scripts are single files for Python 3.8 or newer (an NTLM check "
                "also needs ",
                Code("pyspnego"),
                "); on Windows, type ",
                Code("py"),
                " where ",
                Code("python3"),
                " is not a command. They are on the site's check scripts page and in ",
                Code("check-scripts.pdf"),
                ".",
            ),
        )
    )
    # the rollback's words say "in the reverse order of the steps": its rows are in
    # that order, the latest step first
    undo_order = sorted(procedure.rollback, key=lambda r: -r.step.number(procedure.numbers))
    return replace(procedure, rollback=tuple(undo_order))


def _with_warnings(phase: Phase, warnings: tuple[Warning, ...]) -> Phase:
    """The phase with each warning attached to the one step it concerns."""

    concerned = {WARNING_STEPS[w.code] for w in warnings}
    if not any(s.id in concerned for s in phase.steps):
        return phase  # most steps of most clients carry no warning: nothing to copy
    steps = tuple(
        replace(s, warnings=tuple(w for w in warnings if WARNING_STEPS[w.code] == s.id))
        if s.id in concerned
        else s
        for s in phase.steps
    )
    return replace(phase, steps=steps)


def _evidence(v: Values, saved: SavedEvidence) -> Evidence:
    """The saved check results as the procedure shows them."""
    counts = ", ".join(
        f"{saved.count(status)} {word}"
        for status, word in (
            ("pass", "passed"),
            ("warn", "warned"),
            ("fail", "failed"),
            ("skip", "skipped"),
        )
    )
    return Evidence(
        checked_at=saved.checked_at,
        checked_from=saved.checked_from,
        summary=counts,
        rows=tuple((r.status, r.check, r.target, r.detail) for r in saved.results),
        stale=staleness(saved, v),
        refresh=_sh(f"{v.checks.runbook_check} --save"),
    )


# The steps whose results the saved checks prove: they show them where the reader decides.
EVIDENCE_STEPS = ("gate-outside", "gate-again")


def _evidence_note(v: Values, saved: SavedEvidence) -> Note:
    """The saved checks in one box: when, how many passed, or why they no longer apply."""
    shown = _evidence(v, saved)
    stale = staleness(saved, v)
    when = saved.checked_at.strftime("%Y-%m-%d %H:%M UTC")
    if stale:
        # the reason quotes the client's names and the saved file's: free text, not our words
        return Note("warning", "Saved checks out of date", t(f"Saved {when}: ", Free(stale), "."))
    failed = [f"{r.check} {r.target}" for r in saved.results if r.status == "fail"]
    text = t(f"Saved {when} from ", Free(saved.checked_from), f": {shown.summary}.")
    if failed:
        text += t(" Failed: ", *join_codes(failed[:6]), ".")
    return Note("note", "Saved checks", text + t(" The full list is under Latest checks."))


def _with_evidence(phase: Phase, note: Note) -> Phase:
    """The phase with the saved checks shown at the steps they prove."""

    steps = tuple(
        replace(s, body=(*s.body, note)) if s.id in EVIDENCE_STEPS else s for s in phase.steps
    )
    return replace(phase, steps=steps)
