"""The warnings' steps and titles, and the small helpers every phase's steps use."""

from __future__ import annotations

from collections.abc import Callable

from generator.derive import ScheduleStep, Values
from generator.procedure import (
    Code,
    Command,
    FormField,
    Para,
    Ref,
    Relation,
    Step,
    Strong,
    Text,
    When,
    join_parts,
    t,
)

# The step each warning concerns: it is shown there, and listed with a link at the top.
WARNING_STEPS = {
    "iis6-tls-1.0": "gate-outside",
    "pre-sp1": "requirements",
    "over-150-mailboxes": "requirements",
    "outlook-too-old": "requirements",
    "outlook-out-of-support": "requirements",
    "outlook-newer-than-exchange": "requirements",
    "rpc-ports-exposed": "gate-outside",
    "front-end-rewrites-validports": "esm-topology",
    "global-catalogs-ignored": "esm-topology",
    "mx-ttl-high": "lower-ttl",
    "mx-ttl-unknown": "lower-ttl",
    "mx-target-unconfirmed": "switch-mx",
    "report-recipient-migrated": "batch",
    "slow-link-concurrency": "endpoint",
    "no-test-mailbox": "gate-microsoft",
    "window-past": "requirements",
    "window-too-close": "requirements",
}
# The warning's title in words; the code stays beside it for searching.
WARNING_TITLES = {
    "iis6-tls-1.0": "IIS 6 offers TLS 1.0 at most",
    "pre-sp1": "No service pack on Exchange 2003",
    "over-150-mailboxes": "More mailboxes than Microsoft recommends",
    "outlook-too-old": "Outlook versions that cannot connect",
    "outlook-out-of-support": "Outlook versions out of support",
    "outlook-newer-than-exchange": "Outlook too new for Exchange 2003",
    "rpc-ports-exposed": "RPC ports published on the firewall",
    "front-end-rewrites-validports": "The front-end's System Attendant and ValidPorts",
    "global-catalogs-ignored": "Global catalogs listed but not used",
    "mx-ttl-high": "MX TTL above an hour",
    "mx-ttl-unknown": "MX TTL not recorded",
    "mx-target-unconfirmed": "MX target not recorded",
    "report-recipient-migrated": "Reports would land in a migrated mailbox",
    "slow-link-concurrency": "Slow internet link",
    "no-test-mailbox": "No test mailbox recorded",
    "window-past": "The planned window has passed",
    "window-too-close": "The planned window is too close",
}

StepBuilder = Callable[[Values], "Step | list[Step] | None"]


def _cmd(text: str) -> Command:
    return Command(text, "cmd")


def _ps(text: str) -> Command:
    return Command(text, "powershell")


def _sh(text: str) -> Command:
    return Command(text, "shell")


def _data(text: str) -> Command:
    return Command(text, "data")


def _date(v: Values, key: str) -> ScheduleStep | None:
    """The schedule's entry `key`, when the client file has a window."""
    if v.schedule is None:
        return None
    return next(s for s in v.schedule.steps if s.step == key)


def _when(v: Values, key: str, relation: Relation) -> When | None:
    entry = _date(v, key)
    return When(relation, entry.date) if entry else None


def _proxy(v: Values) -> Text:
    host = v.topology.proxy_host
    return t(
        "the console of ",
        Code(host.name),
        " (",
        Code(host.fqdn),
        "), as an administrator",
    )


def _test_mailbox(v: Values) -> FormField:
    """The endpoint's e-mail address: the recorded test mailbox, or a blank to fill in."""
    address = v.migration_endpoint.email_address
    if address:
        return FormField("E-mail address", t(Code(address)))
    return FormField("E-mail address", t("an on-premises mailbox that is not hidden"), False)


def _not_hidden(v: Values) -> tuple[Para, ...]:
    """What the recorded test mailbox must be (DOMAIN.md 9); a blank for one says it itself."""
    address = v.migration_endpoint.email_address
    if not address:
        return ()
    return (
        Para(
            t(
                Code(address),
                " must be a mailbox on the old server that is not hidden from address lists: "
                "unhide it first if it is.",
            )
        ),
    )


def _until_text(v: Values) -> Text:
    """How long the certificate must last, and how that day is reckoned (DOMAIN.md 6)."""
    if v.certificate_valid_until and v.window:
        return t(
            "at least until ",
            Strong(v.certificate_valid_until.isoformat()),
            f" (the switch on {v.window.isoformat()}, plus the 72 hours before the batch may "
            "be deleted, plus 7 days in hand)",
        )
    return t("through the switch, the 72 hours before the batch is deleted, and a margin")


def _nspi_refs(v: Values) -> Text:
    """The NSPI steps, one for each global catalog that needs the value (DOMAIN.md 5)."""
    return join_parts([Ref(f"nspi-{host.lower()}") for host in v.registry.nspi_hosts])


def _nspi_pending(v: Values) -> Text:
    """Where an NSPI value is still to set, why port 6004 of that server is unavailable too
    (DOMAIN.md 5: the value counts only after a restart); nothing for other clients."""
    hosts = v.registry.nspi_hosts
    if not hosts:
        return ()
    return t(
        " On port 6004 of ",
        *join_parts([Code(host) for host in hosts]),
        ", also until the NSPI value is set and the server restarted (",
        *_nspi_refs(v),
        ").",
    )
