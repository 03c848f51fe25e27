"""Phase 1, the gate: whether this server can be migrated at all, before anything changes."""

from __future__ import annotations

from generator.derive import Values, outlook_names
from generator.procedure import (
    Block,
    Checklist,
    Choice,
    Code,
    Commands,
    Free,
    Note,
    Option,
    Para,
    Ref,
    Step,
    Strong,
    Text,
    join_codes,
    t,
)
from generator.steps.common import (
    _cmd,
    _not_hidden,
    _nspi_pending,
    _nspi_refs,
    _ps,
    _sh,
    _until_text,
)

# --- the gate: can this server be migrated at all? ----------------------------------------


def requirements(v: Values) -> Step:
    """What must hold on the tenant side before anything is touched (DOMAIN.md 9, 12)."""
    if v.migration_endpoint.mailbox_permission == "FullAccess":
        account = t(
            Code(v.migration_endpoint.account),
            " can open every mailbox: ",
            Strong("Full mailbox access"),
            " on each mailbox (Active Directory Users and Computers, the user's Exchange "
            "Advanced tab, Mailbox Rights) or ",
            Strong("Receive As"),
            " on each mailbox store (Exchange System Manager, the store's Security tab).",
        )
    else:
        account = t(
            Code(v.migration_endpoint.account),
            " is a member of Domain Admins: the Admin mailbox permission relies on it.",
        )
    count = f" This client has {v.mailbox_count}." if v.mailbox_count is not None else ""
    if v.outlook.versions:
        outlook = t(
            f"In use: {outlook_names(v.outlook.versions)}. Outlook 2010 and older cannot connect "
            "to Exchange Online; 2013 to 2021 are past support for it."
        )
    else:
        outlook = t(
            "Find out which Outlook versions the client runs: 2010 and older cannot connect "
            "to Exchange Online."
        )
    return Step(
        id="requirements",
        title="Confirm the requirements",
        where=t("the office, with the client's administrator"),
        why=t("Any of these left open can stop the migration later, at a worse moment."),
        body=(
            Checklist(
                (
                    t(
                        "Exchange System Manager shows Exchange 2003 ",
                        v.service_pack_text,
                        *(
                            (
                                " on every Exchange server, as the client file says (each "
                                "server's properties, General tab).",
                            )
                            if len(v.topology.old_servers) > 1
                            else (
                                ", as the client file says (the server's properties, General tab).",
                            )
                        ),
                    ),
                    account,
                    t(
                        "No more than 2,000 mailboxes; Microsoft recommends 150 or fewer.",
                        count,
                    ),
                    outlook,
                    t(
                        *join_codes([d.domain for d in v.dns]),
                        # whether every recipient-policy domain must be verified is
                        # [OPEN]: verify them all (DOMAIN.md 9)
                        " added and verified in the Microsoft 365 tenant, and so is any other "
                        "internet domain of the recipient policies (not a .local one).",
                    ),
                    *_global_catalogs(v),
                    t("Directory synchronisation is off in the tenant."),
                    t("The tenant holds no other cutover batch: only one runs at a time."),
                ),
            ),
        ),
        if_fails=t("Put the item right first; nothing later in this runbook fixes it."),
    )


def _global_catalogs(v: Values) -> tuple[Text, ...]:
    """The global catalogs the proxy's traffic relies on (DOMAIN.md 5)."""
    items = [t("Every global catalog that Outlook uses runs Windows Server 2003.")]
    others = [s.name for s in v.topology.servers if not s.global_catalog]
    if others:
        items.append(
            t(
                *join_codes(others),
                (" is" if len(others) == 1 else " are")
                + " not recorded as a global catalog: a domain controller that is not one "
                "has connectivity problems, so make any that is a domain controller a "
                "global catalog too; then mark it ",
                Code("global_catalog: true"),
                " in the client file and print this runbook again, which adds the "
                "address-book value and restart it then needs.",
            )
        )
    return tuple(items)


def gate_outside(v: Values) -> Step:
    """TLS 1.2, the certificate and the proxy's answer, from the internet (DOMAIN.md 0, 2)."""
    public = v.public_fqdn
    ports = [*v.ports.outside]
    options = (
        Option(
            "runbook tool",
            t(
                "Every outside check at once: port 443, the TLS versions offered, the "
                "certificate and its end date, the proxy's answer."
            ),
            (_sh(v.checks.runbook_check),),
        ),
        Option(
            "check scripts",
            t(
                "The bundled ",
                Code("rpcproxy.py"),
                " and ",
                Code("ports.py"),
                " (Python 3.8 or newer), on any computer:",
            ),
            (_sh(v.checks.rpcproxy), _sh(v.checks.ports_outside)),
        ),
        Option(
            "openssl",
            t("Whether TLS 1.2 is offered: the handshake succeeds and names TLSv1.2."),
            (_sh(f"openssl s_client -connect {public}:443 -tls1_2"),),
        ),
        Option(
            "telnet",
            # DISM changes the running Windows only from a prompt run as administrator
            t(
                "Windows: port 443 opens (turn the telnet client on with the first line, in a "
                "command prompt run as administrator)."
            ),
            (
                _cmd("dism /online /Enable-Feature /FeatureName:TelnetClient"),
                *(_cmd(f"telnet {x.host} {x.port}") for x in ports),
            ),
        ),
        Option(
            "PowerShell",
            t("Windows 8.1 and later: says only whether the port opens."),
            tuple(_ps(f"Test-NetConnection -ComputerName {x.host} -Port {x.port}") for x in ports),
        ),
        Option(
            "nc",
            t("macOS or Linux: says only whether the port opens."),
            tuple(_sh(f"nc -vz {x.host} {x.port}") for x in ports),
        ),
    )
    body: list[Block] = [Choice(options)]
    if v.tls_front:
        body.append(
            Para(
                t(
                    "This client records ",
                    Free(v.tls_front),
                    " in front of IIS 6 to offer TLS 1.2 on ",
                    Code(public),
                    ": this step proves that it does. Ask whoever runs it how it forwards: "
                    "the /Rpc directory takes only requests over SSL, so the device must "
                    "encrypt again towards IIS, and pass the long RPC over HTTP stream "
                    "through unbuffered, as a TCP-mode proxy re-encrypting with TLS 1.0 does.",
                )
            )
        )
    if v.topology.exposed_ports:
        body.append(
            Note(
                "danger",
                "RPC ports published on the firewall",
                t(
                    "This client publishes ports "
                    + ", ".join(str(p) for p in v.topology.exposed_ports)
                    + " on ",
                    Code(public),
                    ": on those, expect the banner ",
                    Code("ncacn_http/1.0"),
                    ". Office 365 needs only 443.",
                ),
            )
        )
    return Step(
        id="gate-outside",
        title="The gate, from outside",
        where=t(
            "the consultant's laptop on a network outside the client's, such as a phone hotspot"
        ),
        why=t(
            "Office 365 reaches the server on TCP 443 only, with a trusted certificate; "
            "whether it accepts a server without TLS 1.2 is not documented, so expect it to "
            "refuse one. This shows in minutes where the server stands."
        ),
        body=tuple(body),
        expected=t(
            "443 opens; TLS 1.2 is offered; the certificate is trusted, names ",
            Code(v.certificate_name),
            " and lasts ",
            *_until_text(v),
            "; a request without credentials is answered 401, offering ",
            v.connectivity_analyzer.authentication,
            ".",
        ),
        verify=(
            t("TLS 1.2 offered on ", Code(public), "."),
            t("Certificate trusted, with the right name and end date."),
            t("401 offering ", v.connectivity_analyzer.authentication, "."),
        ),
        if_fails=t(
            *(
                (
                    "TLS 1.2 not offered: ",
                    Free(v.tls_front),
                    " does not offer it as it is set up; ask whoever runs it, and if it "
                    "cannot, see Plan B's first option, then run this step again. ",
                )
                if v.tls_front
                else (
                    "TLS 1.2 not offered: IIS 6 cannot offer it; see Plan B's first option, "
                    "then run this step again. ",
                )
            ),
            "A certificate problem: ",
            Ref("certificate"),
            ". No 401: the proxy is missing, off or not asking for a sign-in (",
            *_proxy_setup(),
            "); another method offered: ",
            Ref("rpc-directory"),
            ". 443 closed: the firewall, or IIS not listening on 443.",
        ),
    )


def _proxy_setup() -> Text:
    """The groundwork steps that put the proxy in place and make it ask for a sign-in
    (DOMAIN.md 3): component, /Rpc, time-out, Enabled; a gate run before them fails on them."""
    return (Ref("rpc-component"), " to ", Ref("enabled-value"))


def _address_book(v: Values) -> Text:
    """Where a global catalog needs the NSPI value, its 6004 stays closed until that step too
    (DOMAIN.md 5); nothing for other clients."""
    if not v.registry.nspi_hosts:
        return ()
    return (" or the address book on 6004 that the NSPI value opens (", *_nspi_refs(v), ")")


def gate_microsoft(v: Values) -> Step:
    """Microsoft's own test of the path, the one that decides (DOMAIN.md 0, 7)."""
    return Step(
        id="gate-microsoft",
        title="The gate, from Microsoft's side",
        where=t(
            "the consultant's laptop outside the client's network for the RPC check, as in ",
            Ref("gate-outside"),
            ", then Exchange Online PowerShell "
            "(the ExchangeOnlineManagement module) on any computer, signed in as ",
            Code(v.admin),
        ),
        why=t(
            "Exchange 2003 has no Autodiscover: this test, with every setting given by "
            "hand, is the one that decides whether the migration service can connect."
        ),
        body=(
            Choice(
                (
                    Option(
                        "runbook tool",
                        t(
                            "First, from the laptop: RPC over HTTP through the proxy to each "
                            "port of ",
                            Code(v.exchange_server),
                            ", as the migration will connect; it asks for the password.",
                        ),
                        (_sh(v.checks.runbook_check_rpc),),
                    ),
                    Option(
                        "check script",
                        t(
                            "The same with the bundled ",
                            Code("rpcping.py"),
                            " (the password "
                            "from RUNBOOK_PASSWORD or a prompt, never the command line):",
                        ),
                        (_sh(v.checks.rpcping),),
                    ),
                )
            ),
            *_ntlm_library(v),
            Commands(
                (_ps(v.powershell.connect), _ps(v.powershell.credential), _ps(v.powershell.test)),
                t(
                    "Connect, then test; the second line asks for the password of ",
                    Code(v.migration_endpoint.account),
                    ":",
                ),
            ),
            *_not_hidden(v),
        ),
        expected=t(
            "The test reports success. Before ValidPorts is set (",
            Ref("set-validports" if not v.registry.managed_by_esm else "esm-topology"),
            ") it may fail on the RPC connection, and on what the proxy's setup still lacks (",
            *_proxy_setup(),
            ")",
            *_address_book(v),
            "; the certificate and TLS must already pass.",
        ),
        if_fails=t(
            "A TLS or certificate error: ",
            Ref("gate-outside"),
            " and ",
            Ref("certificate"),
            ". Unauthorized: the account or its password, or the /Rpc directory's authentication (",
            Ref("rpc-directory"),
            "). The RPC server unavailable: expected until ValidPorts is set (",
            Ref("set-validports" if not v.registry.managed_by_esm else "esm-topology"),
            "); after that, usually ValidPorts does not list what was asked for (",
            Ref("verify-validports"),
            ").",
            *_nspi_pending(v),
        ),
        blanks=() if v.migration_endpoint.email_address else ("Test mailbox used (address)",),
    )


def _ntlm_library(v: Values) -> tuple[Para, ...]:
    """What an NTLM check through the proxy needs: rpcping.py speaks NTLM only with pyspnego
    and otherwise reports every port as not checked; the runbook tool installs it, a laptop
    with the bare script may not have it."""
    if v.connectivity_analyzer.authentication != "NTLM":
        return ()
    return (
        Para(
            t(
                "For NTLM, ",
                Code("rpcping.py"),
                " needs the ",
                Code("pyspnego"),
                " package in the Python that runs it (",
                Code("python3 -m pip install pyspnego"),
                "); without it each port is reported as not checked. The runbook tool installs it.",
            )
        ),
    )


def gate_decision(v: Values) -> Step:
    """Go on with the groundwork, or go to Plan B (DOMAIN.md 0, 13)."""
    return Step(
        id="gate-decision",
        title="Decide: go on, or Plan B",
        where=t("with the client, before any change on the server"),
        why=t(
            "Everything after this step is billed work; it is only worth doing if the path "
            "can work."
        ),
        body=(
            Checklist(
                (
                    t("TLS 1.2 is offered on ", Code(v.public_fqdn), "."),
                    t("The certificate is publicly trusted and lasts ", *_until_text(v), "."),
                    # the proxy's setup (component, /Rpc sign-in, time-out, Enabled) is put
                    # right later, as ValidPorts is: none is a reason for Plan B (DOMAIN.md
                    # 0: "cannot be fixed")
                    t(
                        "Microsoft's test passes, or fails only on what a later step puts "
                        "right: the proxy's setup (",
                        *_proxy_setup(),
                        ")",
                        ", " if v.registry.nspi_hosts else " or ",
                        "the RPC connection that ValidPorts will open",
                        *_address_book(v),
                        ".",
                    ),
                )
            ),
            Para(
                t(
                    "Go when every box is ticked. No-go when TLS 1.2 cannot be offered or the "
                    "test fails for a reason this runbook cannot fix: turn to Plan B at the end "
                    "of this runbook."
                )
            ),
        ),
        signoff="go-no-go",
    )
