"""Phase 5, the switch and after: licences, MX, Autodiscover, profiles, the batch deleted,
the old server retired."""

from __future__ import annotations

from generator.derive import OFFICE_TARGET, Values, outlook_names
from generator.procedure import (
    Block,
    Checklist,
    Code,
    Commands,
    Heading,
    Note,
    Para,
    Ref,
    Step,
    Strong,
    Table,
    Text,
    join_codes,
    t,
)
from generator.steps.common import _cmd, _data, _ps, _sh, _when

# --- the switch -----------------------------------------------------------------------------


def licences(v: Values) -> Step:
    """Licences right after the initial sync (DOMAIN.md 9, 11)."""
    return Step(
        id="licences",
        title="Assign the licences",
        where=t("the Microsoft 365 admin center, Users, Active users"),
        why=t("A migrated mailbox without a licence is disabled after 30 days."),
        body=(
            Para(
                t(
                    "Assign a licence to every migrated user now, right after the initial "
                    "sync: the go/no-go (",
                    Ref("go-no-go"),
                    ") needs every one of them.",
                )
            ),
        ),
        expected=t("Every migrated user has a licence."),
        when=_when(v, "licences", "by"),
    )


def go_no_go(v: Values) -> Step:
    """The decision to touch DNS, signed (DOMAIN.md 11)."""
    items = [
        t("Every mailbox in ", Code(v.batch.name), " is Synced and the last sync is recent."),
        t("Every migrated user has a licence (", Ref("licences"), ")."),
        t("The client knows mail moves now and every Outlook gets a new profile afterwards."),
        t("The old MX and SPF records are written down (", Ref("lower-ttl"), ")."),
    ]
    if v.outlook.to_upgrade:
        items.append(
            t(
                f"{OFFICE_TARGET} is ready for every computer running "
                f"{outlook_names(v.outlook.to_upgrade)}."
            )
        )
    return Step(
        id="go-no-go",
        title="Go or no-go for the switch",
        where=t("with the client, before anyone touches DNS"),
        why=t("After the switch new mail lands in Office 365; every box ticked means go."),
        body=(Checklist(tuple(items)),),
        if_fails=t("Any empty box means no-go: the migration stays as it is (see Rolling back)."),
        when=_when(v, "switch-mx", "on"),
        signoff="go-no-go",
    )


def _mx_blocks(v: Values) -> tuple[Block, ...]:
    """Each domain's MX and SPF: the recorded target, or where to copy it from."""
    blocks: list[Block] = []
    for d in v.dns:
        blocks.append(Heading(d.domain))
        if d.mx_target and d.mx:
            mx_value: Text = t(Code(d.mx_target))
        else:
            mx_value = t(
                "copy from the Microsoft 365 admin center, Settings, Domains, ",
                Code(d.domain),
                ", DNS records",
            )
        blocks.append(
            Table(
                ("Type", "Name", "Value", "TTL"),
                (
                    (t("MX, priority 0"), t(Code(d.domain + ".")), mx_value, t(str(d.ttl))),
                    (t("TXT (SPF)"), t(Code(d.domain + ".")), t(Code(d.spf_value)), t(str(d.ttl))),
                ),
            )
        )
        if d.mx:
            blocks.append(Commands((_data(d.mx), _data(d.spf)), t("As zone-file lines:")))
        else:  # no MX line to paste: the caption says so, lest the SPF line pass for both
            blocks.append(
                Commands(
                    (_data(d.spf),),
                    t("As a zone-file line, the SPF only (the MX value is the one copied above):"),
                )
            )
    return tuple(blocks)


def _unrecorded_mx(v: Values) -> list[str]:
    """The domains whose MX value the client file does not record (DOMAIN.md 11: copied from
    the admin center, never derived)."""
    return [d.domain for d in v.dns if d.mx_target is None]


def switch_mx(v: Values) -> Step:
    """MX and SPF to Office 365 (DOMAIN.md 11)."""
    missing = _unrecorded_mx(v)
    recorded = len(v.dns) - len(missing)
    # DOMAIN.md 11: the MX value is copied from the admin center, never derived; one shown here
    # was copied into the client file, so it is checked against its source
    source: Text = ()
    if recorded:
        source += (
            "The MX value shown is the one the client file records; it is to be copied "
            "from the admin center's DNS records: check it there before publishing it, and "
            "where it differs, publish the admin center's and correct the client file. "
            if recorded == 1
            else "The MX values shown are the ones the client file records; they are to be "
            "copied from the admin center's DNS records: check each there before "
            "publishing it, and where one differs, publish the admin center's and correct "
            "the client file. ",
        )
    if missing:
        source += (
            "Copy the MX value of ",
            *join_codes(missing),
            " from the admin center's DNS records for the domain. ",
        )
    return Step(
        id="switch-mx",
        title="Switch MX and SPF",
        where=t("the DNS host of each domain"),
        why=t("New mail goes to Office 365 from here on."),
        body=(
            Para(
                t(
                    "Replace the old MX records rather than adding beside them. ",
                    *source,
                    "An MX value is never worked out by hand. A domain has one SPF record: "
                    "if it has one, merge ",
                    Code("include:spf.protection.outlook.com"),
                    " into it instead of adding a second.",
                )
            ),
            *_mx_blocks(v),
        ),
        expected=t(
            "The DNS host shows the new records. Senders follow as their cached copies of "
            "the old records expire, within the TTL set in ",
            Ref("lower-ttl"),
            "; mail that still reaches the old server meanwhile arrives with the next "
            "24-hour sync.",
        ),
        when=_when(v, "switch-mx", "on"),
        blanks=(*(f"MX target of {d}" for d in missing), "Switched at (date and time)"),
    )


def autodiscover(v: Values) -> Step:
    """Autodiscover after MX, never before (DOMAIN.md 11)."""
    blocks: list[Block] = [
        Para(
            t(
                "Now, not earlier: an Outlook still working on the old server would be sent to "
                "the cloud. Where the client has an internal DNS zone for the domain (usual on "
                "Small Business Server), add the record there too."
            )
        ),
        Table(
            ("Name", "Type", "Value"),
            tuple(
                (t(Code(d.autodiscover_name)), t("CNAME"), t(Code(d.autodiscover_target)))
                for d in v.dns
            ),
        ),
        Commands(tuple(_data(d.autodiscover) for d in v.dns), t("As zone-file lines:")),
    ]
    return Step(
        id="autodiscover",
        title="Point Autodiscover to Office 365",
        where=t("the DNS host of each domain, and the internal DNS server"),
        why=t("New Outlook profiles find their mailbox through Autodiscover."),
        body=tuple(blocks),
        expected=t(
            "Looked up outside, and on the internal DNS server where it has the zone, each name "
            "is a CNAME to ",
            Code("autodiscover.outlook.com"),
            ".",
        ),
    )


def outlook_profiles(v: Values) -> Step:
    """New profiles, and Office upgraded at the switch (DOMAIN.md 12)."""
    body: list[Block] = [
        Para(
            t(
                "The cutover does not change Outlook profiles: create a new profile for every "
                "user, signed in with the Office 365 account."
            )
        ),
    ]
    if v.outlook.to_upgrade:
        body.append(
            Para(
                t(
                    f"Replace {outlook_names(v.outlook.to_upgrade)} with {OFFICE_TARGET} now, "
                    "at the switch: those versions cannot connect to Exchange Online, and "
                    "Outlook 2016 and later cannot open a mailbox on Exchange 2003, so "
                    "upgrading weeks earlier cuts users off."
                )
            )
        )
    if v.outlook.modern_auth_2013:
        body.append(
            Commands(
                tuple(_cmd(line) for line in v.outlook.modern_auth_2013),
                t(
                    "Outlook 2013, where it is kept for now, needs modern authentication and "
                    "its recent updates; as the user, in a command prompt (whether it still "
                    "connects is unconfirmed):"
                ),
            )
        )
    return Step(
        id="outlook-profiles",
        title="New Outlook profiles",
        where=t("each user's computer"),
        why=t("Outlook keeps pointing at the old server until it has a new profile."),
        body=tuple(body),
        expected=t("Each user's Outlook opens the Office 365 mailbox with the migrated mail."),
        blanks=("Computers done",),
    )


def wait_72h(v: Values) -> Step:
    """No deletion before 72 hours and a later sync (DOMAIN.md 11)."""
    body: list[Block] = []
    if v.checks.dns_after:
        # without a recorded MX the script cannot judge the MX: the consultant compares it
        missing = _unrecorded_mx(v)
        compare: Text = (
            (
                "; for ",
                *join_codes(missing),
                ", compare the MX it prints with the one written down in ",
                Ref("switch-mx"),
            )
            if missing
            else ()
        )
        body.append(
            Commands(
                tuple(_sh(line) for line in v.checks.dns_after),
                t("Confirm that mail now goes to Office 365", *compare, ":"),
            )
        )
        body.append(Commands((_sh(v.checks.runbook_check_dns_after),), t("or the runbook tool:")))
    return Step(
        id="wait-72h",
        title="Wait, then confirm the last sync",
        where=t(
            "the Exchange admin center, the batch's details; a laptop outside the client's "
            "network for the DNS check"
        ),
        why=t("Deleting the batch too early loses mail that still reached the old server."),
        body=tuple(body),
        verify=(
            t("At least 72 hours have passed since the switch."),
            t("Every user works in Office 365."),
            t("The batch's ", Strong("Last Synced Time"), " is later than the switch."),
        ),
        when=_when(v, "delete-batch", "not before"),
        blanks=("Last synced time",),
    )


def delete_batch(v: Values) -> Step:
    """The point of no return (DOMAIN.md 9)."""
    return Step(
        id="delete-batch",
        title="Delete the batch",
        where=t("the Exchange admin center: select ", Code(v.batch.name), " and delete it"),
        why=t("A cutover batch has no complete step: deleting it ends the copying."),
        body=(
            Note(
                "danger",
                "Point of no return",
                t(
                    "Deleting the batch ends all copying from "
                    "the old server; nothing in this runbook undoes it."
                ),
            ),
            Commands((_ps(v.powershell.remove),), t("Or in Exchange Online PowerShell:")),
        ),
        expected=t("The batch is gone from the list."),
        signoff="client",
    )


def relaying_devices(v: Values) -> Step:
    """Scanners and applications off the old server (DOMAIN.md 10)."""
    return Step(
        id="relaying-devices",
        title="Re-point scanners and applications",
        where=t("each device or application listed before the batch (", Ref("not-moved"), ")"),
        why=t("They stop sending mail when the old server stops."),
        body=(
            Para(
                t(
                    "Send through ",
                    Code("smtp.office365.com"),
                    " on port ",
                    Code("587"),
                    " with TLS 1.2, or use direct send, or a connector in Exchange Online.",
                )
            ),
        ),
        expected=t("A test message from each arrives."),
    )


def old_server(v: Values) -> Step:
    """The old server kept, not uninstalled, until all is proven (DOMAIN.md 11)."""
    several = len(v.topology.old_servers) > 1
    servers, as_they_are = ("servers", "they are") if several else ("server", "it is")
    items = [
        t(
            "Stop the Exchange services on ",
            *join_codes(v.topology.old_servers),
            f" and keep the {servers} as {as_they_are}, not uninstalled, until the checks "
            "above have passed.",
        ),
        t(
            "Microsoft suggests contacting its support before decommissioning an Exchange "
            "organisation."
        ),
        t("Remove the firewall rule for 443 to the old server once nothing else needs it."),
    ]
    if v.topology.exposed_ports:
        items.append(
            t(
                "Remove the rule publishing ports "
                + ", ".join(str(p) for p in v.topology.exposed_ports)
                + " on ",
                Code(v.public_fqdn),
                ".",
            )
        )
    # a global catalog is a domain controller: the domain, and often DNS and files, still
    # run on it (on SBS, everything): only its Exchange goes, not the machine
    directory = [s.name for s in v.topology.servers if s.global_catalog]
    offline = [name for name in v.topology.old_servers if name not in directory]
    if directory:
        items.append(
            t(
                *join_codes(directory),
                (" is" if len(directory) == 1 else " are")
                + " also a global catalog: leave "
                + ("it" if len(directory) == 1 else "them")
                + " running for the domain and what else "
                + ("it serves" if len(directory) == 1 else "they serve")
                + "; only Exchange is retired, its services stopped.",
            )
        )
    if offline:
        which = t(f"the {servers}") if not directory else t(*join_codes(offline))
        items.append(t("Take ", *which, " offline with the client's agreement."))
    return Step(
        id="old-server",
        title="Retire the old server",
        where=t("the client's server room, with the client"),
        why=t("The old server goes only once nothing depends on it."),
        body=(Checklist(tuple(items)),),
        signoff="client",
    )
