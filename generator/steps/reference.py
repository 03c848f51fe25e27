"""The procedure's reference parts: values sheet, rollback, troubleshooting, support, Plan B."""

from __future__ import annotations

from generator.derive import Values, in_migrated_domain
from generator.procedure import (
    ANY_TIME,
    Appendix,
    Block,
    Code,
    Free,
    Heading,
    Note,
    Para,
    Ref,
    RollbackRow,
    SheetRow,
    Strong,
    Text,
    Trouble,
    join_codes,
    t,
)
from generator.steps.common import _cmd, _nspi_pending, _ps, _test_mailbox

# --- reference parts ---------------------------------------------------------------------


def _sheet(v: Values) -> tuple[SheetRow, ...]:
    """The values to type, each with the steps that use it."""
    ep = v.migration_endpoint
    both = (Ref("gate-microsoft"), Ref("endpoint"))
    # where the value is typed: by hand at set-validports; on a managed front-end nowhere
    # (the System Attendant writes it, DOMAIN.md 3), only compared by script
    compared = Ref("verify-validports")
    validports = (compared,) if v.registry.managed_by_esm else (Ref("set-validports"), compared)
    rows = [
        SheetRow(
            "ValidPorts (REG_SZ; compared, never typed)"
            if v.registry.managed_by_esm
            else "ValidPorts (REG_SZ)",
            t(Code(v.valid_ports)),
            validports,
        ),
        SheetRow("Exchange server", t(Code(v.exchange_server)), both),
        SheetRow("RPC proxy server", t(Code(v.public_fqdn)), both),
        SheetRow("Authentication", t(Code(ep.authentication)), both),
        SheetRow(
            "Mutual authentication principal",
            t(Code(v.connectivity_analyzer.mutual_auth_principal)),
            (Ref("gate-again"),),
        ),
        SheetRow("Account with privileges", t(Code(ep.account)), both),
        SheetRow("E-mail address", _test_mailbox(v).value, both),
        SheetRow("Tenant administrator", t(Code(v.admin)), (Ref("gate-microsoft"),)),
        SheetRow("Mailbox permission", _permission(v), (Ref("endpoint"),)),
        SheetRow(
            "Maximum concurrent migrations",
            t(Code(str(ep.max_concurrent_migrations))),
            (Ref("endpoint"),),
        ),
        SheetRow("Migration endpoint name", t(Code(ep.name)), (Ref("endpoint"),)),
        SheetRow("Batch name", t(Code(v.batch.name)), (Ref("batch"),)),
        SheetRow("Report recipients", join_codes(v.batch.notification_emails), (Ref("batch"),)),
    ]
    for d in v.dns:
        target = t(Code(d.mx_target)) if d.mx_target else t("copy from the admin center")
        rows.append(SheetRow(f"MX for {d.domain}", target, (Ref("switch-mx"),)))
    rows.append(
        SheetRow(
            "ValidPorts backup file", t(Code(v.registry.backup_file)), (Ref("backup-validports"),)
        )
    )
    return tuple(rows)


def _permission(v: Values) -> Text:
    """The wizard's words and the PowerShell value, the latter alone when they are the same
    word (`Admin`, not "Admin (Admin)")."""
    ep = v.migration_endpoint
    if ep.mailbox_permission_label == ep.mailbox_permission:
        return t(Code(ep.mailbox_permission))
    return t(ep.mailbox_permission_label, " (", Code(ep.mailbox_permission), ")")


# The schedule's entries and the step each belongs to; `nspi-<host>` is that step's own id.
SCHEDULE_STEPS = {
    "set-validports": "set-validports",
    "compare-validports": "verify-validports",
    "prepare": "gate-again",
    "lower-mx-ttl": "lower-ttl",
    "start-batch": "start-batch",
    "initial-sync-done": "initial-sync",
    "switch-mx": "switch-mx",
    "delete-batch": "delete-batch",
    "licences": "licences",
}


def _rollback(v: Values) -> tuple[RollbackRow, ...]:
    rows = [
        RollbackRow(
            "MX and SPF records",
            Ref("switch-mx"),
            t(
                "Put back the old MX and SPF records written down in ",
                Ref("lower-ttl"),
                "; where a domain had no SPF record, remove the one the switch added. New mail "
                "reaches the old server again; mail already delivered to Office 365 stays "
                "there.",
            ),
            (),
            "the batch is deleted",
        ),
        RollbackRow(
            "Autodiscover",
            Ref("autodiscover"),
            t("Remove the CNAME records, outside and inside."),
            (),
            "the batch is deleted",
        ),
        RollbackRow(
            "The running batch",
            Ref("start-batch"),
            t("Stop it (select it, Stop, or the first line); the second line starts it again:"),
            (_ps(v.powershell.stop), _ps(v.powershell.start)),
            "the batch is deleted",
        ),
    ]
    if v.registry.managed_by_esm:
        rows.append(
            RollbackRow(
                "RPC-HTTP marks",
                Ref("esm-topology"),
                t(
                    "Set the servers back to the marks written down in ",
                    Ref("esm-topology"),
                    ". If ",
                    Code(v.topology.proxy_host.name),
                    " was a front-end before, its System Attendant rewrites ValidPorts at its "
                    "next poll. If not, nothing rewrites the value any more: restore the "
                    "backup of ",
                    Ref("backup-validports"),
                    " with the first command below (or the earlier file that step kept) or, "
                    "where the backup holds no ValidPorts, delete the value with the second "
                    "command below; the proxy "
                    "reads it within about five minutes.",
                ),
                (_cmd(v.registry.restore), _cmd(v.registry.delete)),
                ANY_TIME,
            )
        )
    else:
        front = v.topology.proxy_host.name if v.topology.proxy_runs_on == "front-end" else None
        if front is not None:
            # before SP1 the front-end was set to "Not part of..." (DOMAIN.md 3): set it back;
            # a front-end's System Attendant then writes ValidPorts again, at once and every
            # 15 minutes
            rows.append(
                RollbackRow(
                    f"RPC-HTTP mark of {front}",
                    Ref("esm-topology"),
                    t(
                        "Set ",
                        Code(front),
                        " back to the mark written down in ",
                        Ref("esm-topology"),
                        ". If it was ",
                        Strong("RPC-HTTP front-end server"),
                        ", its System Attendant then writes ValidPorts from Active Directory at "
                        "once and every 15 minutes, in place of the value kept by hand.",
                    ),
                    (),
                    ANY_TIME,
                )
            )
        rows.append(
            RollbackRow(
                "ValidPorts",
                Ref("set-validports"),
                t(
                    "Restore the backup of ",
                    Ref("backup-validports"),
                    " with the first command below (or the earlier file that step kept) or, "
                    "where the backup holds no ValidPorts, delete the value with the second "
                    "command below; then let the "
                    "proxy read it (",
                    Ref("apply-validports"),
                    ").",
                ),
                (_cmd(v.registry.restore), _cmd(v.registry.delete)),
                ANY_TIME,
            )
        )
    for host in v.registry.nspi_hosts:
        if v.registry.nspi_delete:
            rows.append(
                RollbackRow(
                    f"The NSPI value on {host}",
                    Ref(f"nspi-{host.lower()}"),
                    t(
                        "If ",
                        Ref(f"nspi-{host.lower()}"),
                        " found ",
                        Code("ncacn_http:6004"),
                        " already, nothing was changed. If it found another value, put that "
                        "back in Registry Editor (the same key and value name) and restart the "
                        "server; if it found none, delete the value and restart:",
                    ),
                    (_cmd(v.registry.nspi_delete),),
                    ANY_TIME,
                )
            )
    return tuple(rows)


def _troubleshooting(v: Values) -> tuple[Trouble, ...]:
    auth = v.connectivity_analyzer.authentication
    return (
        Trouble(
            "Cannot connect when creating the migration endpoint",
            t(
                "The service cannot reach the proxy, or the proxy refuses the target. Run "
                "the gate again (",
                Ref("gate-again"),
                "): its result names the failing part.",
            ),
        ),
        Trouble("The RPC server is unavailable (error 1722)", _error_1722(v)),
        Trouble(
            "A TLS or SSL error from Microsoft's side",
            t(
                "Check that TLS 1.2 is offered on ",
                Code(v.public_fqdn),
                " (",
                Ref("gate-outside"),
                "): where it is not, see Plan B's first option; where it is, the certificate (",
                Ref("certificate"),
                ").",
            ),
        ),
        Trouble(
            "No migration report arrives",
            t(
                "The batch has no report recipients, or only addresses in a domain being "
                "migrated, whose reports land in the new cloud mailbox: add ",
                *_watched_recipients(v),
                ".",
            ),
        ),
        Trouble(
            "Certificate not trusted, or name mismatch",
            t(
                "The certificate on ",
                Code(v.public_fqdn),
                " must come from a public authority and carry that name (",
                Ref("certificate"),
                ").",
            ),
        ),
        Trouble(
            "401 at the proxy",
            t(
                f"A 401 to a request without credentials is normal; a 401 with the right "
                f"credentials means the account or the method ({auth}) is wrong "
                "(",
                Ref("rpc-directory"),
                ").",
            ),
        ),
    )


def _watched_recipients(v: Values) -> Text:
    """Who to add as report recipients: the client file's, less those in a domain being
    migrated, whose reports land in a cloud mailbox nobody watches (DOMAIN.md 9)."""
    domains = [d.domain for d in v.dns]
    watched = [e for e in v.batch.notification_emails if not in_migrated_domain(e, domains)]
    who: Text
    if watched:
        who = join_codes(watched)
    elif not in_migrated_domain(v.admin, domains):
        who = t(Code(v.admin), " or an outside address, not one in a domain being migrated")
    else:
        who = t(
            "an outside address or the tenant's onmicrosoft.com administrator, not one in a "
            "domain being migrated"
        )
    return t(*who, " (", Ref("batch"), ")")


def _error_1722(v: Values) -> Text:
    """ValidPorts lacks the target: the wait is the one its writer needs (DOMAIN.md 3, 4)."""
    if v.registry.managed_by_esm:
        # the System Attendant rewrites the value every 15 minutes, as esm-topology's warning
        # says; a hand edit would vanish at its next poll
        return t(
            "Usually ValidPorts lacks the host:port asked for. Compare it (",
            Ref("verify-validports"),
            "); if an entry is missing, check the RPC-HTTP marks (",
            Ref("esm-topology"),
            "), wait 15 minutes for the System Attendant's next poll, read it again (",
            Ref("apply-validports"),
            ") and test again.",
            *_nspi_pending(v),
        )
    # the proxy re-reads a value kept by hand about every five minutes
    return t(
        "Usually ValidPorts lacks the host:port asked for, or has not been read yet. Compare it (",
        Ref("verify-validports"),
        "), wait five minutes, test again.",
        *_nspi_pending(v),
    )


def _support(v: Values) -> tuple[Block, ...]:
    """Whether this path can work at all, said once at the top (DOMAIN.md 0)."""
    tls: Text
    if v.tls_front:
        tls = t(
            "This client records ",
            Free(v.tls_front),
            " in front of IIS 6 to offer TLS 1.2; it must encrypt again towards IIS and "
            "not buffer the stream (",
            Ref("gate-outside"),
            "), and the gate proves it.",
        )
    else:
        tls = t("Nothing in front of IIS 6 is recorded to offer TLS 1.2 for this client.")
    return (
        Note(
            "note",
            "Can this migration work?",
            t(
                "Microsoft's cutover migration articles still name Exchange Server 2003 as a "
                "source, and so does the reference of ",
                Code("Test-MigrationServerAvailability"),
                ". A later revision of Microsoft's KB 2389390 says migrating users from "
                "Exchange 2003 is not supported, and Exchange 2003 itself left support on 8 "
                "April 2014: the path is documented but unsupported, a best effort. IIS 6 on "
                "Windows Server 2003 offers TLS 1.0 at most; Exchange Online uses only TLS 1.2 "
                "for the IMAP migrations it documents, and whether the cutover still "
                "accepts a TLS 1.0 server is not documented: expect it to refuse. ",
                *tls,
                " The gate (",
                Ref("gate-outside"),
                " to ",
                Ref("gate-decision"),
                ") decides "
                "before anything on the server changes; Plan B at the end lists the ways "
                "forward when it fails.",
            ),
        ),
    )


def _plan_b(v: Values) -> Appendix:
    """The ways forward when the gate fails, with this client's figures (DOMAIN.md 13)."""
    count, size = v.mailbox_count, v.total_gb
    if count and size is not None:
        # ExMerge's 2 GB a file (DOMAIN.md 13) against this client's mailboxes
        split = (
            " At that size many mailboxes need more than one ExMerge file, or Outlook."
            if size / count > 2
            else ""
        )
        pst_load: Text = t(
            f"This client has {count} mailboxes and {size:g} GB, about "
            f"{size / count:.1f} GB a mailbox on average: the largest mailbox "
            "sets the time." + split
        )
    else:
        pst_load = t("The largest mailbox sets the time it takes.")
    cutover_fit = f" This client has {count} mailboxes." if count is not None else ""
    return Appendix(
        id="plan-b",
        title="Plan B: when the gate fails",
        intro=t(
            "In the order that usually serves a small office. Each keeps the inventory "
            "this runbook made; none needs the old server to speak TLS 1.2."
        ),
        blocks=(
            Heading("Option 1: TLS 1.2 in front of IIS 6"),
            Para(
                t(
                    "A firewall or reverse proxy that offers TLS 1.2 on ",
                    Code(v.public_fqdn),
                    " with the public certificate and forwards to IIS on ",
                    Code(v.topology.proxy_host.name),
                    ". RPC over HTTP keeps long connections "
                    "with large requests: the device must pass the stream through unbuffered; "
                    "a TCP-mode proxy that re-encrypts to IIS with TLS 1.0 does that. Microsoft "
                    "does not document this arrangement; it is the field's workaround. Then run "
                    "the gate again (",
                    Ref("gate-outside"),
                    "). Moves everything a cutover moves.",
                )
            ),
            Heading("Option 2: two hops through Exchange 2010"),
            Para(
                t(
                    "Move the mailboxes to an interim Exchange 2010 server on the LAN, then "
                    # DOMAIN.md 9's wording, as step 1 and the warning give it
                    "migrate from it (Microsoft recommends a cutover for 150 mailboxes or "
                    "fewer)."
                    + cutover_fit
                    + " Microsoft describes this route for 2003. Exchange 2010 is out of "
                    "support, needs TLS 1.2 turned on (Update Rollup 9 for SP3 or later) and a "
                    "trusted certificate, and whether its installation media can still be had "
                    "is unconfirmed. Heavy for a small office."
                )
            ),
            Heading("Option 3: PST export and network upload"),
            Para(
                t(
                    "Export each mailbox to PST (ExMerge on Exchange 2003 writes ANSI PST files "
                    "of at most 2 GB each; or Outlook), create and license the cloud mailboxes, "
                    "upload with AzCopy and import. Free, at about 24 GB a day per mailbox. ",
                    *pst_load,
                    " Moves mail, calendar and contacts; items over 150 MB are "
                    "skipped; permissions and rules are lost.",
                )
            ),
            Heading("Option 4: a migration tool on the LAN"),
            Para(
                t(
                    "A tool that runs on a current computer inside the network and reads the "
                    "2003 mailboxes over MAPI, so only that computer talks to Exchange Online. "
                    "Tools hosted in the cloud connect to the 2003 server over the internet and "
                    "meet the same TLS limit. BitTitan documents Exchange 2003 as a source; "
                    "Quest's cloud product starts at Exchange 2010."
                )
            ),
            Heading("Not offered: IMAP migration"),
            Para(
                t(
                    "Mail only (no contacts, calendars or tasks), at most 500,000 items and 35 "
                    "MB a message per mailbox, with the mailboxes created first. Over SSL/TLS it "
                    "meets the same TLS 1.0 limit, and without encryption it sends passwords in "
                    "clear over the internet."
                )
            ),
        ),
    )
