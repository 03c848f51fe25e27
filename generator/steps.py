"""Stage "procedure": a client's numbered steps and reference parts, built once from `Values`.

One function per step: it decides from `Values` whether the step applies and writes its words
once; the page and the handout lay out what it returns (`generator.procedure`). Each warning
code belongs to exactly one step (`WARNING_STEPS`). Sentences cite the DOMAIN.md section
they rest on in the comment above them when the fact is not obvious from the values.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.derive import ScheduleStep, Values
from generator.evidence import Evidence as SavedEvidence
from generator.evidence import staleness
from generator.procedure import (
    Appendix,
    Block,
    Checklist,
    Choice,
    Code,
    Command,
    Commands,
    Evidence,
    Form,
    FormField,
    Free,
    Heading,
    Note,
    Option,
    Para,
    Part,
    Phase,
    Procedure,
    Ref,
    Relation,
    RollbackRow,
    ScheduleRow,
    SheetRow,
    Step,
    Strong,
    Table,
    Text,
    Trouble,
    Warning,
    When,
    join_codes,
    numbered,
    t,
)

# The step each warning concerns: it is shown there, and listed with a link at the top.
WARNING_STEPS = {
    "iis6-tls-1.0": "gate-outside",
    "pre-sp1": "requirements",
    "over-150-mailboxes": "requirements",
    "outlook-too-old": "requirements",
    "outlook-out-of-support": "requirements",
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


def _outlook(versions: list[int]) -> str:
    return ", ".join("Microsoft 365 Apps" if o == 365 else f"Outlook {o}" for o in versions)


def _test_mailbox(v: Values) -> FormField:
    """The endpoint's e-mail address: the recorded test mailbox, or a blank to fill in."""
    address = v.migration_endpoint.email_address
    if address:
        return FormField("E-mail address", t(Code(address)))
    return FormField("E-mail address", t("an on-premises mailbox that is not hidden"), False)


def _until_text(v: Values) -> Text:
    if v.certificate_valid_until:
        return t(
            "at least until ",
            Strong(v.certificate_valid_until.isoformat()),
            " (the switch, 72 hours before the batch is deleted, and a week in hand)",
        )
    return t("through the switch, the 72 hours before the batch is deleted, and a margin")


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
            f"In use: {_outlook(v.outlook.versions)}. Outlook 2010 and older cannot connect "
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
        why=t("Any of these left open stops the migration later, at a worse moment."),
        body=(
            Checklist(
                (
                    t(
                        "Exchange System Manager shows Exchange 2003 ",
                        v.service_pack_text,
                        ", as the client file says (the server's properties, General tab).",
                    ),
                    account,
                    t(
                        "No more than 2,000 mailboxes; Microsoft recommends 150 or fewer.",
                        count,
                    ),
                    outlook,
                    t(
                        *join_codes([d.domain for d in v.dns]),
                        " added and verified in the Microsoft 365 tenant.",
                    ),
                    t("Directory synchronisation is off in the tenant."),
                    t("The tenant holds no other cutover batch: only one runs at a time."),
                ),
            ),
        ),
        if_fails=t("Put the item right first; nothing later in this runbook fixes it."),
    )


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
            t("Windows: port 443 opens (turn the telnet client on with the first line)."),
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
                    ": this step proves that it does.",
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
            "Office 365 reaches the server on TCP 443 only, with TLS 1.2 and a trusted "
            "certificate; this shows in minutes whether it can."
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
            "TLS 1.2 not offered: IIS 6 cannot offer it; see Plan B's first option, then "
            "run this step again. A certificate problem: ",
            Ref("certificate"),
            ". No 401, or another method offered: ",
            Ref("rpc-directory"),
            ". 443 closed: the firewall, or IIS not listening on 443.",
        ),
    )


def gate_microsoft(v: Values) -> Step:
    """Microsoft's own test of the path, the one that decides (DOMAIN.md 0, 7)."""
    return Step(
        id="gate-microsoft",
        title="The gate, from Microsoft's side",
        where=t(
            "Exchange Online PowerShell (the ExchangeOnlineManagement module) on any "
            "computer, signed in as ",
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
            Commands(
                (_ps(v.powershell.connect), _ps(v.powershell.test)),
                t(
                    "Connect, then test; the second line asks for the password of ",
                    Code(v.migration_endpoint.account),
                    ":",
                ),
            ),
        ),
        expected=t(
            "The test reports success. Before ValidPorts is set (",
            Ref("set-validports" if not v.registry.managed_by_esm else "esm-topology"),
            ") it may fail on the RPC connection only: the certificate, TLS and the "
            "sign-in must already pass.",
        ),
        if_fails=t(
            "A TLS or certificate error: ",
            Ref("gate-outside"),
            " and ",
            Ref("certificate"),
            ". Unauthorized: the account or its password, or the /Rpc directory's authentication (",
            Ref("rpc-directory"),
            "). The RPC server unavailable: ValidPorts does not list what was asked for (",
            Ref("verify-validports"),
            ").",
        ),
        blanks=() if v.migration_endpoint.email_address else ("Test mailbox used (address)",),
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
                    t(
                        "Microsoft's test passes, or fails only on the RPC connection that "
                        "ValidPorts will open."
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


# --- groundwork on the RPC proxy server ---------------------------------------------------


def certificate(v: Values) -> Step:
    """The certificate on the public name (DOMAIN.md 6)."""
    return Step(
        id="certificate",
        title="The certificate",
        where=t(
            *_proxy(v),
            ": IIS Manager, Web Sites, Default Web Site, Properties, "
            "Directory Security, View Certificate",
        ),
        why=t(
            "The migration service accepts only a publicly trusted certificate for the "
            "public name, valid for as long as the migration lasts."
        ),
        body=(
            Checklist(
                (
                    t(
                        "Issued by a publicly trusted authority, not self-signed, with ",
                        Code(v.public_fqdn),
                        " in its Subject Alternative Name.",
                    ),
                    t("Valid today and ", *_until_text(v), "."),
                    t(
                        "Public certificates issued from 15 March 2026 last 200 days at most "
                        "(100 days from 15 March 2027): one bought now may end before the "
                        "batch is deleted. Compare its end date with the plan."
                    ),
                    t(
                        "A SHA-256 certificate needs hotfix KB 938397 on Server 2003 (a hotfix "
                        "on request, not on Windows Update; KB 968730 adds enrolment from SHA-2 "
                        "authorities). Whether both can still be obtained is unconfirmed: check "
                        "the server has them before buying."
                    ),
                    t(
                        "IIS 6 has no SNI: one certificate per IP address and port, so this one "
                        "must be the certificate of 443 on this address."
                    ),
                )
            ),
        ),
        if_fails=t(
            "If a certificate authority refuses the SHA-1-signed request IIS 6 makes "
            "(their policies differ), make the key and the request on a current "
            "computer and import the certificate with its key as a PFX file."
        ),
    )


def rpc_component(v: Values) -> Step:
    """The RPC over HTTP proxy component (DOMAIN.md 3)."""
    body: list[Block] = [
        Para(
            t(
                "Control Panel, ",
                Strong("Add or Remove Programs"),
                ", ",
                Strong("Add/Remove Windows Components"),
                ", ",
                Strong("Networking Services"),
                ", ",
                Strong("Details"),
                ": ",
                Strong("RPC over HTTP Proxy"),
                " is ticked. If you tick it now, restart IIS afterwards:",
            )
        ),
        Commands((_cmd("iisreset"),)),
    ]
    if v.topology.proxy_runs_on == "front-end":
        body.append(Para(t("The proxy belongs on the front-end, not on a domain controller.")))
    return Step(
        id="rpc-component",
        title="The RPC over HTTP proxy component",
        where=_proxy(v),
        why=t("Without the component nothing answers at ", Code("/rpc/rpcproxy.dll"), "."),
        body=tuple(body),
        expected=t("RPC over HTTP Proxy is installed."),
    )


def rpc_directory(v: Values) -> Step:
    """Authentication and SSL on the /Rpc virtual directory (DOMAIN.md 3)."""
    methods = t(Strong("Basic authentication"), " on")
    if v.connectivity_analyzer.authentication == "NTLM":
        methods = t(
            Strong("Basic authentication"),
            " and ",
            Strong("Integrated Windows authentication"),
            " on (the endpoint uses NTLM)",
        )
    return Step(
        id="rpc-directory",
        title="Authentication and SSL on /Rpc",
        where=t(
            *_proxy(v),
            ": IIS Manager, Web Sites, Default Web Site, Rpc, Properties, Directory Security",
        ),
        why=t("The proxy forwards only authenticated requests over SSL."),
        body=(
            Checklist(
                (
                    t(
                        Strong("Authentication and access control"),
                        ", Edit: anonymous access off; ",
                        *methods,
                        ".",
                    ),
                    t(
                        Strong("Secure communications"),
                        ", Edit: ",
                        Strong("Require secure channel (SSL)"),
                        " on; Require 128-bit encryption left clear.",
                    ),
                )
            ),
        ),
        expected=t(
            "The outside check answers 401 offering ",
            v.connectivity_analyzer.authentication,
            " (",
            Ref("gate-outside"),
            ").",
        ),
    )


def connection_timeout(v: Values) -> Step:
    """The web site's connection time-out (DOMAIN.md 3)."""
    return Step(
        id="connection-timeout",
        title="Connection time-out of the web site",
        where=t(*_proxy(v), ": IIS Manager, Web Sites, Default Web Site, Properties, Web Site tab"),
        why=t("With a connection time-out under 30 seconds the proxy component does not load."),
        body=(Checklist((t(Strong("Connection timeout"), " is 30 seconds or more."),)),),
    )


def enabled_value(v: Values) -> Step:
    """The proxy's `Enabled` value (DOMAIN.md 3)."""
    return Step(
        id="enabled-value",
        title="The proxy's Enabled value",
        where=_proxy(v),
        why=t("A missing or zero ", Code("Enabled"), " value turns the proxy off."),
        body=(
            Commands((_cmd(v.registry.enabled_query),)),
            Commands(
                (_cmd(v.registry.enabled_set), _cmd("iisreset")),
                t(
                    "If it does not show ",
                    Code("REG_DWORD    0x1"),
                    ", set it and restart IIS, which reads it at start:",
                ),
            ),
        ),
        expected=t(
            Code("Enabled    REG_DWORD    0x1"),
            ". Never add an AllowAnonymous value under this key.",
        ),
    )


def esm_topology(v: Values) -> Step:
    """Which server writes ValidPorts: ESM's RPC-HTTP tab (DOMAIN.md 3, 4)."""
    path = t(
        Strong("Exchange System Manager"),
        ", Administrative Groups, the group, Servers, right-click the server, Properties, ",
        Strong("RPC-HTTP"),
        " tab",
    )
    front = v.topology.proxy_host.name if v.topology.proxy_runs_on == "front-end" else None
    servers = [s.name for s in v.topology.servers]
    body: list[Block] = [Para(t("On each server: ", *path, "."))]
    if front is None:
        body.append(
            Checklist(
                (
                    t(
                        *join_codes(servers),
                        ": ",
                        Strong("Not part of an Exchange managed RPC-HTTP topology"),
                        " (or ",
                        Strong("RPC-HTTP back-end server"),
                        "); never front-end, which a single server is not.",
                    ),
                    t("ValidPorts is then kept by hand, in the next steps."),
                )
            )
        )
        if v.topology.proxy_is_global_catalog:
            body.append(
                Para(
                    t(
                        "On Small Business Server 2003 the Internet connection wizard "
                        "may have turned on Outlook over the internet: check each "
                        "setting here all the same."
                    )
                )
            )
    elif v.registry.managed_by_esm:
        body.append(
            Checklist(
                (
                    t(*join_codes(servers), ": ", Strong("RPC-HTTP back-end server"), "."),
                    t(Code(front), ": ", Strong("RPC-HTTP front-end server"), "."),
                )
            )
        )
        body.append(
            Para(
                t(
                    "The front-end's System Attendant then writes ValidPorts from "
                    "Active Directory at once and every 15 minutes: read and compare "
                    "it in the next steps, never type it. Settings here or the "
                    "registry, never both."
                )
            )
        )
    else:
        body.append(
            Checklist(
                (
                    t(
                        Code(front),
                        ": ",
                        Strong("Not part of an Exchange managed RPC-HTTP topology"),
                        ": without a service pack the global catalogs must be in "
                        "ValidPorts, which the System Attendant never writes.",
                    ),
                    t("ValidPorts is then kept by hand, in the next steps."),
                )
            )
        )
    return Step(
        id="esm-topology",
        title="RPC-HTTP settings in Exchange System Manager",
        where=t(
            "Exchange System Manager on ",
            Code(v.topology.proxy_host.name),
            " or any administrator's computer",
        ),
        why=t(
            "These settings decide whether ValidPorts is written by Exchange or kept by "
            "hand; mixing both loses hand edits."
        ),
        body=tuple(body),
    )


def inside_ports(v: Values) -> Step:
    """Every ValidPorts target from the proxy host (DOMAIN.md 1, 2, 5)."""
    gcs = [h for h in v.registry.nspi_hosts if h not in {s.name for s in v.topology.servers}]
    servers_gc = [h for h in v.registry.nspi_hosts if h not in gcs]
    expected: list[Part] = ["Every line answers with the banner ", Code("ncacn_http/1.0"), "."]
    if servers_gc:
        expected += [
            " On ",
            *join_codes(servers_gc),
            ", a global catalog, 6004 answers only "
            "once the NSPI value is set and the server has restarted: a silent 6004 "
            "there is expected until then.",
        ]
    if gcs:
        expected += [
            " On the global catalog",
            "s " if len(gcs) > 1 else " ",
            *join_codes(gcs),
            ", 6004 is answered by Active Directory once the NSPI value is set and "
            "the server restarted; no Exchange service runs there.",
        ]
    fails: list[Part] = [
        "A line without the banner on an Exchange server means nothing "
        "listens on that port: check that the Exchange services run"
    ]
    if v.topology.proxy_runs_on == "mailbox server":
        fails += [
            ", and that ",
            Code(v.public_fqdn),
            " resolves on the server to its internal address (",
            Ref("resolve-public-name"),
            ").",
        ]
    else:
        fails += ["."]
    return Step(
        id="inside-ports",
        title="RPC ports from the proxy",
        where=_proxy(v),
        why=t("The proxy must reach every host and port it will forward to."),
        body=(
            Choice(
                (
                    Option(
                        "telnet",
                        t(
                            "Server 2003 has telnet built in. One line at a time; close each "
                            "with Ctrl+] and ",
                            Code("quit"),
                            ".",
                        ),
                        tuple(_cmd(line) for line in v.telnet.inside),
                    ),
                    Option(
                        "check script",
                        t(
                            "On a workstation inside the network that resolves the names as the "
                            "proxy does (Server 2003 cannot run current Python):"
                        ),
                        (_sh(v.checks.ports_inside),),
                    ),
                )
            ),
        ),
        expected=tuple(expected),
        verify=(t("Every line shows ", Code("ncacn_http/1.0"), "."),),
        if_fails=tuple(fails),
    )


def read_validports(v: Values) -> Step:
    """What the value holds before any change (DOMAIN.md 4)."""
    return Step(
        id="read-validports",
        title="Read ValidPorts as it is",
        where=_proxy(v),
        why=t(
            "The proxy forwards only to the host:port pairs in ValidPorts; the old value is "
            "what a rollback puts back."
        ),
        body=(Commands((_cmd(v.registry.query),)),),
        expected=t(
            "The value with type ", Code("REG_SZ"), ", or an error that it does not exist yet."
        ),
        blanks=("Value found (or none)",),
    )


def backup_validports(v: Values) -> Step:
    """A dated copy of the key before the change (DOMAIN.md 4)."""
    return Step(
        id="backup-validports",
        title="Back up the RpcProxy key",
        where=_proxy(v),
        why=t("The backup is what the rollback restores."),
        body=(Commands((_cmd(v.registry.backup),)),),
        expected=t(
            "The operation completed successfully, and the file ",
            Code(v.registry.backup_file),
            " exists.",
        ),
        if_fails=t(
            "If ",
            Code("reg"),
            " asks whether to overwrite an existing file, answer ",
            Strong("No"),
            ": that file is the first backup, taken before any change, and the one to keep.",
        ),
    )


def set_validports(v: Values) -> Step | None:
    """The value itself, typed exactly, where it is kept by hand (DOMAIN.md 4)."""
    if v.registry.managed_by_esm:
        return None
    return Step(
        id="set-validports",
        title="Set ValidPorts",
        where=_proxy(v),
        why=t(
            "The value must list every name the migration service and the proxy use for "
            "each server."
        ),
        body=(
            Commands((_cmd(v.registry.set),)),
            Para(
                t(
                    "The type is ",
                    Strong("REG_SZ"),
                    ", a plain string. A DWORD or "
                    "multi-string value silently breaks the proxy: if the value had another "
                    "type, delete it first with the line below, then run the line above.",
                )
            ),
            Commands((_cmd(v.registry.delete),)),
            Choice(
                (
                    Option(
                        "Registry Editor",
                        t("The value data to paste into Registry Editor, as one line:"),
                        (_data(v.valid_ports),),
                    ),
                    Option(
                        ".reg file",
                        t(
                            "The same change as a ",
                            Code(".reg"),
                            " file (Windows line ends), merged by double-clicking it:",
                        ),
                        (
                            Command(
                                v.registry.reg_file.replace("\r\n", "\n").rstrip(),
                                "file",
                                "validports.reg",
                            ),
                        ),
                    ),
                )
            ),
            Para(t("The value one entry per line, to compare by eye:")),
            Table(("Entry",), tuple((t(Code(e)),) for e in v.valid_ports_entries)),
        ),
        expected=t(Code("The operation completed successfully.")),
        if_fails=t(
            Code("Access is denied"),
            " means the account you are logged on with is not a local administrator of the server.",
        ),
    )


def resolve_public_name(v: Values) -> Step | None:
    """On a single server the public name must resolve inside (DOMAIN.md 4)."""
    if v.topology.proxy_runs_on != "mailbox server":
        return None
    return Step(
        id="resolve-public-name",
        title="The public name inside",
        where=_proxy(v),
        why=t(
            "ValidPorts lists ",
            Code(v.public_fqdn),
            ", so the proxy connects to that name; on ",
            Code(v.topology.proxy_host.name),
            " it must lead back to the server itself.",
        ),
        body=(Commands((_cmd(f"nslookup {v.public_fqdn}"),)),),
        expected=t("The server's own internal address."),
        if_fails=t(
            "If it returns the public address, add an internal DNS zone for the name, "
            "or a line in ",
            Code(r"C:\WINDOWS\system32\drivers\etc\hosts"),
            " with the server's internal address.",
        ),
    )


def nspi(v: Values) -> list[Step]:
    """The address book over HTTP on each global catalog that needs it (DOMAIN.md 5)."""
    if not v.registry.nspi:
        return []
    exchange = {s.name for s in v.topology.servers}
    steps = []
    for host in v.registry.nspi_hosts:
        outage = (
            "everything this server runs, Exchange included"
            if host in exchange
            else "what this domain controller serves"
        )
        steps.append(
            Step(
                id=f"nspi-{host.lower()}",
                title=f"Address book over HTTP on {host}",
                where=t("the console of ", Code(host), ", logged on as a domain administrator"),
                why=t(
                    Code(host),
                    " is a global catalog: address-book requests through the "
                    "proxy reach it on port 6004 only with this value, after a restart.",
                ),
                body=(
                    Commands((_cmd(v.registry.nspi),)),
                    Note(
                        "warning",
                        "The server restarts",
                        t(
                            f"The value counts only after a restart of {host}: an outage of "
                            f"{outage}. Schedule it, then restart."
                        ),
                    ),
                ),
                expected=t(
                    "The value is set (type ",
                    Code("REG_MULTI_SZ"),
                    ") and ",
                    Code(host),
                    " has restarted; from the proxy, 6004 on it answers with the banner.",
                ),
                blanks=("Restarted at",),
            )
        )
    return steps


def apply_validports(v: Values) -> Step:
    """No service restart: the proxy re-reads the value (DOMAIN.md 4, 8)."""
    if v.registry.managed_by_esm:
        body: tuple[Block, ...] = (
            Para(
                t(
                    "The front-end's System Attendant wrote ValidPorts when the servers were "
                    "marked (",
                    Ref("esm-topology"),
                    "). Wait 15 minutes, then read it:",
                )
            ),
            Commands((_cmd(v.registry.query),)),
        )
        expected = t(
            "The value lists every back-end by both names, like ",
            Code(v.valid_ports_entries[0]),
            ".",
        )
    else:
        body = (
            Para(
                t(
                    "The proxy reads ValidPorts again within about five minutes: wait, or "
                    "apply it at once with ",
                    Code("iisreset"),
                    ", which briefly drops web "
                    "mail and RPC sessions. No Exchange service needs a restart for it.",
                )
            ),
            Commands((_cmd("iisreset"),)),
        )
        expected = t(
            Code("reg query"),
            " shows ",
            Code("ValidPorts    REG_SZ"),
            " with exactly the value of ",
            Ref("set-validports"),
            ".",
        )
    return Step(
        id="apply-validports",
        title="Let the proxy read ValidPorts",
        where=_proxy(v),
        why=t("A new ValidPorts counts only once the proxy has read it."),
        body=body,
        expected=expected,
    )


def verify_validports(v: Values) -> Step:
    """The value compared by script rather than by eye (DOMAIN.md 4)."""
    return Step(
        id="verify-validports",
        title="Compare ValidPorts by script",
        where=t(
            "the console of ",
            Code(v.topology.proxy_host.name),
            ", then a computer with Python 3.8 or newer",
        ),
        why=t("One wrong character in ValidPorts makes the migration fail on the night."),
        body=(
            Commands((_cmd(v.checks.reg_query_to_file),), t("Save what the registry holds:")),
            Choice(
                (
                    Option(
                        "check script",
                        t("Copy the file beside ", Code("validports.py"), " and compare:"),
                        (_sh(v.checks.validports),),
                    ),
                    Option(
                        "runbook tool",
                        t("Or, with the file beside the runbook tool:"),
                        (_sh(v.checks.runbook_verify),),
                    ),
                )
            ),
        ),
        expected=t("Type ", Code("REG_SZ"), ", no entry missing, no entry extra."),
        if_fails=t(
            "Check the RPC-HTTP marks (",
            Ref("esm-topology"),
            ") and read the value again after the next poll.",
        )
        if v.registry.managed_by_esm
        else t("Set the value again (", Ref("set-validports"), ")."),
    )


def gate_again(v: Values) -> Step:
    """The gate once more, with the server ready, before the batch (DOMAIN.md 0, 7)."""
    ca = v.connectivity_analyzer
    return Step(
        id="gate-again",
        title="Run the gate again",
        where=t("the consultant's laptop, and Exchange Online PowerShell"),
        why=t("With the groundwork and ValidPorts in place, the full path must now pass."),
        body=(
            Commands(
                (_sh(v.checks.runbook_check), _sh(v.checks.runbook_check_rpc)),
                t(
                    "From outside, then RPC through the proxy to each port (add ",
                    Code("--save"),
                    " to keep the results for the runbook):",
                ),
            ),
            Commands(
                (_ps(v.powershell.test),),
                t("From Microsoft's side, connected as in ", Ref("gate-microsoft"), ":"),
            ),
            Para(
                t(
                    "Microsoft's Remote Connectivity Analyzer (",
                    Code("https://testconnectivity.microsoft.com"),
                    ", Outlook Connectivity, "
                    "settings given by hand) runs a similar test; whether it still reaches a "
                    "server offering only TLS 1.0 is unconfirmed, so the PowerShell test "
                    "decides. Its fields:",
                )
            ),
            Form(
                (
                    _test_mailbox(v),
                    FormField("User name", t(Code(v.migration_endpoint.account))),
                    FormField("Password", t("typed now, never written down"), False),
                    FormField("Exchange server", t(Code(ca.exchange_server))),
                    FormField("RPC proxy server", t(Code(ca.rpc_proxy_server))),
                    FormField("Authentication", t(Code(ca.authentication))),
                    FormField("Mutual authentication principal", t(Code(ca.mutual_auth_principal))),
                )
            ),
            Commands(
                tuple(_data(u) for u in v.rpc_proxy_urls),
                t("The addresses the tests reach through the proxy:"),
            ),
        ),
        expected=t("Every outside check passes and the PowerShell test reports success."),
        verify=(t("The gate passes with the server ready."),),
        if_fails=t(
            "The RPC server unavailable (error 1722 in the Analyzer): ValidPorts lacks "
            "what was asked for (",
            Ref("verify-validports"),
            "). TLS or certificate: ",
            Ref("gate-outside"),
            ".",
        ),
    )


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
                    f": TTL not recorded. Look it up (below), then set it to {d.ttl} s or less.",
                )
            )
            lookups += [
                _cmd(f"nslookup -type=mx -debug {d.domain}"),
                _sh(f"dig +noall +answer mx {d.domain}"),
            ]
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
                    "The TTL today, from a Windows prompt or with "
                    "dig, asked at the domain's own DNS server:"
                ),
            )
        )
    body.append(
        Para(
            t(
                "Caches keep the old TTL: lower it at least one old TTL before the "
                "switch, and two days ahead while the old TTL is unknown. Write down "
                "each domain's MX record as it is today: the rollback puts it back."
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
                    " (Python 3.8 or newer with dnspython):",
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
                        "change does not reach mailboxes that already exist), and per mailbox "
                        "for those the batch has already created (second line, the user's "
                        "address in place of the example). Read the report's skipped items.",
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
                    _ps(f"Set-Mailbox {v.admin} -MaxSendSize 150MB -MaxReceiveSize 150MB"),
                ),
                t("In Exchange Online PowerShell:"),
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
                    ", a name, ",
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
            Para(
                t(
                    f"Type {ep.max_concurrent_migrations} whatever the form offers (its "
                    "default differs between tenants; at most 100): here because "
                    f"{ep.concurrency_reason}."
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
                    "The recipient list can come up empty: add each address by hand. Reports "
                    "may carry the new accounts' first passwords: treat them as credentials, "
                    "keep the recipients few, delete the reports after use, and have users "
                    "change the password at first sign-in."
                )
            ),
            Commands((_ps(v.powershell.batch),), t("Or in Exchange Online PowerShell:")),
        ),
        expected=t("The batch ", Code(v.batch.name), " exists with every recipient above."),
        if_fails=t(
            '"Please provide the list of notification mails" means the batch has no '
            "recipients: add them in the batch's settings."
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
    of = f" of {v.mailbox_count}" if v.mailbox_count is not None else ""
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
            "A mailbox marked Failed shows its error in the details; most often ",
            Code(v.migration_endpoint.account),
            " lacks permission on that mailbox.",
        ),
        when=_when(v, "initial-sync-done", "expected by"),
        blanks=(f"Mailboxes synced{of}",),
    )


# --- the switch -----------------------------------------------------------------------------


def licences(v: Values) -> Step:
    """Licences right after the initial sync (DOMAIN.md 9, 11)."""
    return Step(
        id="licences",
        title="Assign the licences",
        where=t("the Microsoft 365 admin center, Users, Active users"),
        why=t("A migrated mailbox without a licence is disabled after 30 days."),
        body=(
            Para(t("Assign a licence to every migrated user now, right after the initial sync.")),
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
        t("The old MX records are written down (", Ref("lower-ttl"), ")."),
    ]
    if v.outlook.to_upgrade:
        items.append(
            t(
                f"A current Office is ready for every computer running "
                f"{_outlook(v.outlook.to_upgrade)}."
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
        lines = [_data(d.mx)] if d.mx else []
        blocks.append(Commands((*lines, _data(d.spf)), t("As zone-file lines:")))
    return tuple(blocks)


def switch_mx(v: Values) -> Step:
    """MX and SPF to Office 365 (DOMAIN.md 11)."""
    missing = [d.domain for d in v.dns if d.mx_target is None]
    return Step(
        id="switch-mx",
        title="Switch MX and SPF",
        where=t("the DNS host of each domain"),
        why=t("New mail goes to Office 365 from here on."),
        body=(
            Para(
                t(
                    "Replace the old MX records rather than adding beside them. Copy the MX "
                    "value from the admin center's DNS records for the domain: it is never "
                    "worked out by hand. A domain has one SPF record: if it has one, merge ",
                    Code("include:spf.protection.outlook.com"),
                    " into it instead of adding a second.",
                )
            ),
            *_mx_blocks(v),
        ),
        expected=t(
            "The DNS host shows the new records. Senders can take up to 72 hours to "
            "follow; mail that still reaches the old server meanwhile arrives with the "
            "next 24-hour sync."
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
        expected=t("Each name resolves to ", Code("autodiscover.outlook.com"), "."),
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
                    f"Replace {_outlook(v.outlook.to_upgrade)} with a current Office "
                    "now, at the switch: those versions cannot connect to Exchange "
                    "Online, and newer ones cannot open a mailbox on Exchange 2003, so "
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
        body.append(
            Commands(
                tuple(_sh(line) for line in v.checks.dns_after),
                t("Confirm that mail now goes to Office 365:"),
            )
        )
        body.append(Commands((_sh(v.checks.runbook_check_dns_after),), t("or the runbook tool:")))
    return Step(
        id="wait-72h",
        title="Wait, then confirm the last sync",
        where=t("the Exchange admin center, the batch's details; a laptop for the DNS check"),
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
                    " with TLS 1.2 and a licensed account, or use direct send, or a connector "
                    "in Exchange Online.",
                )
            ),
        ),
        expected=t("A test message from each arrives."),
    )


def old_server(v: Values) -> Step:
    """The old server kept, not uninstalled, until all is proven (DOMAIN.md 11)."""
    items = [
        t(
            "Stop the Exchange services on ",
            *join_codes(v.topology.old_servers),
            " and keep the servers as they are, not uninstalled, until the checks above have "
            "passed.",
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
    items.append(t("Take the servers offline with the client's agreement."))
    return Step(
        id="old-server",
        title="Retire the old server",
        where=t("the client's server room, with the client"),
        why=t("The old server goes only once nothing depends on it."),
        body=(Checklist(tuple(items)),),
    )


PHASES: tuple[tuple[str, str, tuple[StepBuilder, ...]], ...] = (
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
            esm_topology,
        ),
    ),
    (
        "ValidPorts and the address book",
        "What the proxy may forward to, set and proved, then the gate once more.",
        (
            inside_ports,
            read_validports,
            backup_validports,
            set_validports,
            resolve_public_name,
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


# --- reference parts ---------------------------------------------------------------------


def _sheet(v: Values) -> tuple[SheetRow, ...]:
    """The values to type, each with the steps that use it."""
    ep = v.migration_endpoint
    both = (Ref("gate-microsoft"), Ref("endpoint"))
    validports = Ref("apply-validports" if v.registry.managed_by_esm else "set-validports")
    rows = [
        SheetRow("ValidPorts (REG_SZ)", t(Code(v.valid_ports)), (validports,)),
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
        SheetRow(
            "Mailbox permission",
            t(ep.mailbox_permission_label, " (", Code(ep.mailbox_permission), ")"),
            (Ref("endpoint"),),
        ),
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


# The schedule's entries and the step each belongs to.
SCHEDULE_STEPS = {
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
                "Put back the old MX records written down in ",
                Ref("lower-ttl"),
                ". New mail "
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
            t("Stop it (select it, Stop), and start it again later from where it stopped:"),
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
                    "Set the servers back to the marks they had; the System Attendant rewrites "
                    "ValidPorts at its next poll."
                ),
                (),
                "any time",
            )
        )
    else:
        rows.append(
            RollbackRow(
                "ValidPorts",
                Ref("set-validports"),
                t(
                    "Restore the backup, then let the proxy read it (",
                    Ref("apply-validports"),
                    "). If no value existed before, delete it instead (second line).",
                ),
                (_cmd(v.registry.restore), _cmd(v.registry.delete)),
                "any time",
            )
        )
    for host in v.registry.nspi_hosts:
        if v.registry.nspi_delete:
            rows.append(
                RollbackRow(
                    f"The NSPI value on {host}",
                    Ref(f"nspi-{host.lower()}"),
                    t(
                        "It does no harm where it is. To remove it, delete it and restart the "
                        "server:"
                    ),
                    (_cmd(v.registry.nspi_delete),),
                    "any time",
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
        Trouble(
            "The RPC server is unavailable (error 1722)",
            t(
                "ValidPorts lacks the host:port asked for, or has not been read yet. Compare it (",
                Ref("verify-validports"),
                "), wait five minutes, test again.",
            ),
        ),
        Trouble(
            "A TLS or SSL error from Microsoft's side",
            t(
                "TLS 1.2 is not offered on ",
                Code(v.public_fqdn),
                " (",
                Ref("gate-outside"),
                "): see Plan B's first option.",
            ),
        ),
        Trouble(
            '"Please provide the list of notification mails"',
            t(
                "The batch has no report recipients: add ",
                *join_codes(v.batch.notification_emails),
                " (",
                Ref("batch"),
                ").",
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
            "401 or 403 at the proxy",
            t(
                f"A 401 to a request without credentials is normal; a 401 with the right "
                f"credentials means the account or the method ({auth}) is wrong "
                "(",
                Ref("rpc-directory"),
                "). A 403 usually means the /Rpc directory's SSL settings reject the request.",
            ),
        ),
    )


def _support(v: Values) -> tuple[Block, ...]:
    """Whether this path can work at all, said once at the top (DOMAIN.md 0)."""
    tls: Text
    if v.tls_front:
        tls = t(
            "This client records ",
            Free(v.tls_front),
            " in front of IIS 6 to offer TLS 1.2; the gate proves it.",
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
                "for the migration connections it documents, and whether the cutover still "
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
        pst_load: Text = t(
            f"This client has {count} mailboxes and {size:g} GB, about "
            f"{size / count:.1f} GB a mailbox on average: the largest mailbox "
            "sets the time."
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
                    "migrate from it (a cutover suits fewer than 150 mailboxes)."
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


def build_procedure(v: Values, revision: str, evidence: SavedEvidence | None = None) -> Procedure:
    """The whole, numbered procedure of one client."""
    phases = []
    for title, intro, builders in PHASES:
        steps: list[Step] = []
        for build in builders:
            made = build(v)
            steps += made if isinstance(made, list) else [made] if made else []
        phases.append(Phase(title, t(intro), tuple(steps)))
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
        ScheduleRow(s.date, s.title, Ref(SCHEDULE_STEPS[s.step]))
        for s in (v.schedule.steps if v.schedule else [])
    )
    return numbered(
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
                ") every change can be undone; undo in the reverse order of the steps.",
            ),
            rollback=_rollback(v),
            troubleshooting=_troubleshooting(v),
            appendices=(_plan_b(v),),
            scripts_note=t(
                "The check scripts are single files for Python 3.8 or newer (the "
                "DNS check also needs dnspython). Each step shows this client's "
                "command line; the scripts themselves are on the site's check "
                "scripts page and in ",
                Code("check-scripts.pdf"),
                ".",
            ),
        )
    )


def _with_warnings(phase: Phase, warnings: tuple[Warning, ...]) -> Phase:
    """The phase with each warning attached to the one step it concerns."""
    from dataclasses import replace

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
        return Note("warning", "Saved checks out of date", t(f"Saved {when}: {stale}."))
    failed = [f"{r.check} {r.target}" for r in saved.results if r.status == "fail"]
    text = t(f"Saved {when} from ", Free(saved.checked_from), f": {shown.summary}.")
    if failed:
        text += t(" Failed: ", *join_codes(failed[:6]), ".")
    return Note("note", "Saved checks", text + t(" The full list is under Latest checks."))


def _with_evidence(phase: Phase, note: Note) -> Phase:
    """The phase with the saved checks shown at the steps they prove."""
    from dataclasses import replace

    steps = tuple(
        replace(s, body=(*s.body, note)) if s.id in EVIDENCE_STEPS else s for s in phase.steps
    )
    return replace(phase, steps=steps)
