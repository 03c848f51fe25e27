"""Phase 4, Office 365: DNS prepared, what is not moved, the endpoint, the batch, the first copy."""

from __future__ import annotations

from generator.derive import Values
from generator.procedure import (
    Block,
    Checklist,
    Code,
    Command,
    Commands,
    Form,
    FormField,
    Para,
    Ref,
    Step,
    Strong,
    join_codes,
    t,
)
from generator.steps.common import _not_hidden, _ps, _sh, _test_mailbox, _when

# --- Office 365 -----------------------------------------------------------------------------


def lower_ttl(v: Values) -> Step:
    """The MX TTL at an hour or less, one old TTL before the switch (DOMAIN.md 11)."""
    items = []
    lookups: list[Command] = []
    for d in v.dns:
        if d.mx_ttl is None:
            items.append(
                t(
                    Code(d.domain),
                    f": TTL not recorded. Read it beside the MX record at the DNS host, or "
                    f"look it up (below), then set it to {d.ttl} s or less.",
                )
            )
            # asked at one of the domain's own name servers: a resolver's cache counts the
            # TTL down (DOMAIN.md 11: "at the authoritative server")
            lookups.append(
                _sh(f"dig +noall +answer mx {d.domain} @$(dig +short ns {d.domain} | head -n 1)")
            )
        elif d.mx_ttl > d.ttl:
            items.append(t(Code(d.domain), f": today {d.mx_ttl} s; set it to {d.ttl} s."))
        else:
            items.append(t(Code(d.domain), f": today {d.mx_ttl} s; nothing to change."))
    body: list[Block] = [Checklist(tuple(items))]
    if lookups:
        body.append(
            Commands(
                tuple(lookups),
                t(
                    "The TTL as the domain's own name server holds it (a resolver's cache "
                    "counts it down), with dig on macOS or Linux; the checks below ask there too:"
                ),
            )
        )
    body.append(
        Para(
            t(
                "Caches keep the old TTL: lower it at least one old TTL before the "
                "switch, and two days ahead while the old TTL is unknown. Write down "
                "each domain's MX record and SPF record as they are today: the switch "
                "replaces the MX and merges into the SPF, and the rollback puts both back."
            )
        )
    )
    if v.checks.dns_before:
        body.append(
            Commands(
                tuple(_sh(line) for line in v.checks.dns_before),
                t(
                    "Check the records with ",
                    Code("dnsrecords.py"),
                    " (Python 3.8 or newer) from outside the client's network, whose own DNS "
                    "may answer from an internal zone:",
                ),
            )
        )
        body.append(Commands((_sh(v.checks.runbook_check_dns_before),), t("or the runbook tool:")))
    blanks = [f"Old MX of {d.domain}" for d in v.dns]
    blanks += [f"Old TTL of {d.domain}" for d in v.dns if d.mx_ttl is None]
    return Step(
        id="lower-ttl",
        title="Lower the MX TTL",
        where=t("the DNS host of each domain (registrar or DNS provider)"),
        why=t("With a short TTL the MX switch reaches senders within the hour."),
        body=tuple(body),
        when=_when(v, "lower-mx-ttl", "by"),
        blanks=tuple(blanks),
        # the switch replaces the MX and merges into the SPF record (DOMAIN.md 11): a rollback
        # needs both as they were, and an SPF record listing every sender runs long
        long_blanks=tuple(f"Old SPF of {d.domain} (or none)" for d in v.dns),
    )


def not_moved(v: Values) -> Step:
    """What a cutover leaves behind, settled before the batch (DOMAIN.md 10)."""
    return Step(
        id="not-moved",
        title="What the cutover does not move",
        where=t("with the client, then Exchange Online PowerShell"),
        why=t("Each of these needs its own answer before the batch starts."),
        body=(
            Checklist(
                (
                    t(
                        Strong("Public folders"),
                        " are not migrated from Exchange 2003: export "
                        "them to PST or recreate them; plan that separately.",
                    ),
                    t(
                        Strong("Large items"),
                        ": items above the size limit are skipped. Raise "
                        "the limits to 150 MB before the batch (first line below; a plan "
                        "change does not reach mailboxes that already exist). A mailbox a "
                        "batch created before the plan was raised, such as on an earlier "
                        "attempt, needs the last two lines, once for each such mailbox (the "
                        "first asks for its address); with none, leave them out. Read the "
                        "report's skipped items.",
                    ),
                    t(
                        Strong("Mail-enabled security groups"),
                        ": create them in the tenant, "
                        "empty and mail-enabled, before the batch; the service cannot tell them "
                        "from distribution groups.",
                    ),
                    t(
                        Strong("Managers and delegates"),
                        " that point at objects not being migrated: remove them before the batch.",
                    ),
                    t(Strong("Hidden mailboxes"), " are skipped: unhide the ones to migrate."),
                    t(
                        Strong("Full Access and Send As permissions, inbox rules"),
                        ": not documented as migrated; list them now, grant them again afterwards.",
                    ),
                    t(
                        Strong("Scanners and applications"),
                        " that relay mail through the old "
                        "server: list them now; they are re-pointed after the switch (",
                        Ref("relaying-devices"),
                        ").",
                    ),
                )
            ),
            Commands(
                (
                    _ps(
                        "Get-MailboxPlan | Set-MailboxPlan -MaxSendSize 150MB -MaxReceiveSize 150MB"
                    ),
                    # never an example address in a line typed as printed: the tenant
                    # administrator's would be changed instead (DOMAIN.md 10: `<user>`)
                    _ps("$mailbox = Read-Host 'Address of a mailbox the batch has created'"),
                    _ps("Set-Mailbox -Identity $mailbox -MaxSendSize 150MB -MaxReceiveSize 150MB"),
                ),
                t("In Exchange Online PowerShell, connected as in ", Ref("gate-microsoft"), ":"),
            ),
        ),
    )


def sign_in(v: Values) -> Step:
    """Where the cutover lives in today's admin center (DOMAIN.md 9)."""
    return Step(
        id="sign-in",
        title="Open the migration in the Exchange admin center",
        where=t(
            "a browser at ",
            Code("https://admin.exchange.microsoft.com"),
            ", signed in as ",
            Code(v.admin),
        ),
        why=t("The endpoint, the batch and its reports are made there."),
        body=(
            Para(
                t(
                    Strong("Migration"),
                    ", ",
                    Strong("Add migration batch"),
                    ", the batch name ",
                    Code(v.batch.name),
                    ", ",
                    Strong("Migration to Exchange Online"),
                    ", migration type ",
                    Strong("Cutover migration"),
                    ".",
                )
            ),
            Commands(
                (_ps(v.powershell.connect),),
                t("For the PowerShell lines of the next steps, connect first:"),
            ),
        ),
        expected=t(
            "The cutover wizard opens, and the migration list shows no other cutover batch."
        ),
    )


def endpoint(v: Values) -> Step:
    """The migration endpoint's fields, given by hand (DOMAIN.md 9)."""
    ep = v.migration_endpoint
    return Step(
        id="endpoint",
        title="The migration endpoint",
        where=t("the wizard's endpoint pages; name the endpoint ", Code(ep.name)),
        why=t("Exchange 2003 has no Autodiscover: every setting is given by hand."),
        body=(
            Form(
                (
                    _test_mailbox(v),
                    FormField("Account with privileges", t(Code(ep.account))),
                    FormField("Password of the account", t("typed now, never written down"), False),
                    FormField("Exchange server", t(Code(ep.exchange_server))),
                    FormField("RPC proxy server", t(Code(ep.rpc_proxy_server))),
                    FormField("Authentication", t(Code(ep.authentication))),
                    FormField("Mailbox permission", t(ep.mailbox_permission_label), False),
                    FormField(
                        "Maximum concurrent migrations", t(Code(str(ep.max_concurrent_migrations)))
                    ),
                )
            ),
            *_not_hidden(v),
            Para(
                t(
                    f"Type {ep.max_concurrent_migrations}, even if the form shows another "
                    "number. Microsoft's pages give different defaults for it. The form takes "
                    f"100 at most. {ep.concurrency_reason}"
                )
            ),
            Commands(
                (_ps(v.powershell.credential), _ps(v.powershell.endpoint)),
                t("Or in Exchange Online PowerShell (the first line asks for the password):"),
            ),
        ),
        expected=t("The endpoint is saved with no connection error."),
        if_fails=t(
            "A connection error here is what the gate finds: run it again (",
            Ref("gate-again"),
            ") and fix what it reports.",
        ),
    )


def batch(v: Values) -> Step:
    """The batch and who gets its reports (DOMAIN.md 9)."""
    return Step(
        id="batch",
        title="The batch and its reports",
        where=t("the wizard's batch pages"),
        why=t("Without report recipients no report is sent, and the batch may refuse to start."),
        body=(
            Form(
                (
                    FormField("Batch name", t(Code(v.batch.name))),
                    FormField("Send a report to", join_codes(v.batch.notification_emails)),
                )
            ),
            Para(
                t(
                    "Reports may carry the new accounts' first passwords: treat them as "
                    "credentials, keep the recipients few, delete the reports after use, and "
                    "have users change the password at first sign-in."
                )
            ),
            Commands((_ps(v.powershell.batch),), t("Or in Exchange Online PowerShell:")),
        ),
        expected=t("The batch ", Code(v.batch.name), " exists with every recipient above."),
        if_fails=t(
            "A recipient missing: add it in the batch's settings. Without recipients no "
            "report is sent."
        ),
    )


def start_batch(v: Values) -> Step:
    """Starting the copy (DOMAIN.md 9)."""
    return Step(
        id="start-batch",
        title="Start the batch",
        where=t("the Exchange admin center, the migration list"),
        why=t(
            "The initial copy of every mailbox starts now; users keep working on the old server."
        ),
        body=(
            Para(
                t(
                    "Select ",
                    Code(v.batch.name),
                    " and start it. The MX TTL must already be low (",
                    Ref("lower-ttl"),
                    ").",
                )
            ),
            Commands(
                (_ps(v.powershell.start), _ps(v.powershell.status)),
                t("Or in Exchange Online PowerShell, then its status:"),
            ),
        ),
        expected=t(
            "The status reads ",
            Strong("Syncing"),
            "; mailboxes, contacts and mail-enabled groups appear in the tenant as it runs.",
        ),
        when=_when(v, "start-batch", "on"),
    )


def initial_sync(v: Values) -> Step:
    """Waiting for the first full copy (DOMAIN.md 9)."""
    # the blank follows the label on paper: the total goes before it, not after
    of = f" (out of {v.mailbox_count})" if v.mailbox_count is not None else ""
    return Step(
        id="initial-sync",
        title="Initial sync complete",
        where=t("the Exchange admin center, the batch's details"),
        why=t("The switch waits until every mailbox has its first full copy."),
        body=(
            Para(
                t(
                    "From then on the batch copies new mail every 24 hours by itself until it "
                    "is deleted. A batch left Synced without activity for 60 days is "
                    "stopped."
                )
            ),
        ),
        expected=t("Every mailbox and the batch read ", Strong("Synced"), "."),
        if_fails=t(
            "A mailbox marked Failed shows its error in the details; one possible cause: ",
            Code(v.migration_endpoint.account),
            " lacks permission on that mailbox.",
        ),
        when=_when(v, "initial-sync-done", "expected by"),
        blanks=(f"Mailboxes synced{of}",),
    )
