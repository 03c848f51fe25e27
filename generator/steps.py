"""Stage "procedure": a client's numbered steps and reference parts, built once from `Values`.

One function per step: it decides from `Values` whether the step applies and writes its words
once; the page and the handout lay out what it returns (`generator.procedure`). Each warning
code belongs to exactly one step (`WARNING_STEPS`). Sentences cite the DOMAIN.md section
they rest on in the comment above them when the fact is not obvious from the values.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.derive import DnsRecords, ScheduleStep, Values
from generator.evidence import Evidence as SavedEvidence
from generator.procedure import (
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
    Phase,
    Procedure,
    Ref,
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
    "pre-sp1": "requirements",
    "over-150-mailboxes": "requirements",
    "outlook-too-old": "requirements",
    "rpc-ports-exposed": "outside-443",
    "global-catalogs-ignored": "set-validports",
    "front-end-rewrites-validports": "apply-validports",
    "mx-ttl-high": "lower-ttl",
    "slow-link-concurrency": "endpoint",
    "no-test-mailbox": "endpoint",
    "mx-target-unconfirmed": "switch-dns",
}
# The warning's title in words; the code stays beside it for searching.
WARNING_TITLES = {
    "pre-sp1": "No service pack on Exchange 2003",
    "over-150-mailboxes": "More mailboxes than Microsoft recommends",
    "outlook-too-old": "Outlook versions that cannot connect",
    "rpc-ports-exposed": "RPC ports published on the firewall",
    "global-catalogs-ignored": "Global catalogs listed but not used",
    "front-end-rewrites-validports": "The front-end rewrites ValidPorts",
    "mx-ttl-high": "MX TTL above an hour",
    "slow-link-concurrency": "Slow internet link",
    "no-test-mailbox": "No test mailbox recorded",
    "mx-target-unconfirmed": "MX target not recorded",
}

StepBuilder = Callable[[Values], Step | None]


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


def _when(v: Values, key: str, relation: str) -> When | None:
    entry = _date(v, key)
    return When(relation, entry.date) if entry else None  # type: ignore[arg-type]


def _proxy(v: Values) -> Text:
    host = v.topology.proxy_host
    return t(
        "the console of ",
        Code(host.name),
        " (",
        Code(host.fqdn),
        "), logged on as an administrator of the server",
    )


def _outlook(versions: list[int]) -> str:
    return ", ".join(f"Outlook {o}" for o in versions)


# --- before you start --------------------------------------------------------------------


def requirements(v: Values) -> Step:
    """What must hold before anything is touched (DOMAIN.md sections 6, 9, 12)."""
    if v.migration_endpoint.mailbox_permission == "FullAccess":
        account = t(
            Code(v.migration_endpoint.account),
            " can open every mailbox: ",
            Strong("Receive As"),
            " on each mailbox store (Exchange System Manager, the store's properties, "
            "Security tab) or ",
            Strong("Full mailbox access"),
            " on every mailbox (Active Directory Users and Computers, View, Advanced "
            "Features; the user's Exchange Advanced tab, Mailbox Rights).",
        )
    else:
        account = t(
            Code(v.migration_endpoint.account),
            " is a member of Domain Admins: the Admin mailbox permission relies on it.",
        )
    count = f" This client has {v.mailbox_count}." if v.mailbox_count is not None else ""
    if v.outlook_versions:
        outlook = t(
            f"Outlook in use: {_outlook(v.outlook_versions)}. Outlook 2007 and older "
            "cannot connect to Exchange Online."
        )
    else:
        outlook = t(
            "Find out which Outlook versions the client runs: 2007 and older cannot "
            "connect to Exchange Online."
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
                        "The certificate on ",
                        Code(v.public_fqdn),
                        " comes from a publicly trusted authority and names ",
                        Code(v.certificate_name),
                        ". Office 365 refuses self-signed certificates.",
                    ),
                    t(
                        "Exchange System Manager shows Exchange 2003 ",
                        v.service_pack_text,
                        ", as the client file says (the server's properties, General tab).",
                    ),
                    account,
                    t(
                        "No more than 2,000 mailboxes; Microsoft recommends 150 or fewer.",
                        count,
                        " Hidden mailboxes are skipped: unhide any that must move.",
                    ),
                    outlook,
                    t(
                        *join_codes([d.domain for d in v.dns]),
                        " verified in the Office 365 tenant.",
                    ),
                    t("Directory synchronisation is off in the tenant."),
                    t("The tenant holds no other cutover batch: only one runs at a time."),
                ),
            ),
        ),
        if_fails=t("Put the item right first; nothing later in this runbook fixes it."),
    )


def outside_443(v: Values) -> Step:
    """TCP 443 on the public name from the internet (DOMAIN.md section 2)."""
    targets = v.ports.outside
    body: list[Block] = [
        Choice(
            (
                Option(
                    "telnet",
                    t("Windows with the telnet client (turn it on with the first line)."),
                    (
                        _cmd("dism /online /Enable-Feature /FeatureName:TelnetClient"),
                        *(_cmd(f"telnet {x.host} {x.port}") for x in targets),
                    ),
                ),
                Option(
                    "PowerShell",
                    t("Windows 8.1 and later: says only whether the port opens."),
                    tuple(
                        _ps(f"Test-NetConnection -ComputerName {x.host} -Port {x.port}")
                        for x in targets
                    ),
                ),
                Option(
                    "nc",
                    t("macOS or Linux: says only whether the port opens."),
                    tuple(_sh(f"nc -vz {x.host} {x.port}") for x in targets),
                ),
                Option(
                    "check script",
                    t(
                        "The bundled ",
                        Code("ports.py"),
                        " (Python 3.8 or newer), or the "
                        "runbook tool's outside checks (ports, certificate, proxy) at once.",
                    ),
                    (_sh(v.checks.ports_outside), _sh(v.checks.runbook_check)),
                ),
            )
        )
    ]
    if v.topology.exposed_ports:
        body.append(
            Note(
                "danger",
                "RPC ports published on the firewall",
                t(
                    "This client publishes ports "
                    + ", ".join(str(p) for p in v.topology.exposed_ports)
                    + " on ",
                    Code(v.public_fqdn),
                    ". On those, expect the banner ",
                    Code("ncacn_http/1.0"),
                    ". Office 365 needs only 443.",
                ),
            )
        )
    return Step(
        id="outside-443",
        title="Port 443 from outside",
        where=t("a laptop on a network outside the client's, such as a phone hotspot"),
        why=t("Office 365 reaches the RPC proxy on TCP 443 and nothing else."),
        body=tuple(body),
        expected=t(
            "Each connection opens. On 443 telnet shows an empty screen and waits: that is TLS "
            "waiting for a client hello. Close it with Ctrl+] and ",
            Code("quit"),
            ".",
        ),
        verify=(t("443 opens from outside."),),
        if_fails=t(
            "A refused or silent 443 is the firewall or IIS: the Default Web Site must "
            "listen on 443."
        ),
    )


# --- the RPC proxy server ----------------------------------------------------------------


def inside_ports(v: Values) -> Step:
    """Every ValidPorts target from the proxy host (DOMAIN.md sections 1, 2)."""
    gc = v.registry.nspi_servers
    expected = t(
        "Every line answers with the banner ",
        Code("ncacn_http/1.0"),
        ".",
        *(
            (
                " On ",
                *join_codes(gc),
                ", a global catalog, 6004 answers only once the NSPI value is set and the "
                "server has restarted (",
                Ref("nspi"),
                "): a silent 6004 there is expected until then.",
            )
            if gc
            else ()
        ),
    )
    fails: Text = t(
        "A line without the banner means nothing listens on that port: check that the "
        "Exchange services run"
    )
    if v.topology.proxy_runs_on == "mailbox server":
        fails += t(
            ", and that ",
            Code(v.public_fqdn),
            " resolves on the server to its internal address (",
            Ref("resolve-public-name"),
            ").",
        )
    else:
        fails += t(".")
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
        expected=expected,
        verify=(t("Every line shows ", Code("ncacn_http/1.0"), "."),),
        if_fails=fails,
    )


def read_validports(v: Values) -> Step:
    """What the value holds before any change (DOMAIN.md section 4)."""
    return Step(
        id="read-validports",
        title="Read ValidPorts as it is",
        where=_proxy(v),
        why=t(
            "The proxy forwards only to the host:port pairs listed in ValidPorts; knowing "
            "the old value is what makes a rollback possible."
        ),
        body=(Commands((_cmd(v.registry.query),)),),
        expected=t(
            "Either the value with type ",
            Code("REG_SZ"),
            ", or an error that it does not exist (nothing set yet).",
        ),
        blanks=("Value found (or none)",),
    )


def backup_validports(v: Values) -> Step:
    """A dated copy of the key before the change (DOMAIN.md section 4)."""
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


def set_validports(v: Values) -> Step:
    """The value itself, typed exactly (DOMAIN.md section 4)."""
    return Step(
        id="set-validports",
        title="Set ValidPorts",
        where=_proxy(v),
        why=t("The value must list every name Office 365 and the proxy use for each server."),
        body=(
            Commands((_cmd(v.registry.set),)),
            Para(
                t(
                    "The type is ",
                    Strong("REG_SZ"),
                    ", a plain string. A DWORD or multi-string "
                    "value silently breaks the proxy: if the value had another type, delete it "
                    "first with the line below, then run the line above.",
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
    """On a single server the public name must resolve inside (DOMAIN.md section 4)."""
    if v.topology.proxy_runs_on != "mailbox server":
        return None
    host = v.topology.proxy_host.name
    return Step(
        id="resolve-public-name",
        title="The public name inside",
        where=_proxy(v),
        why=t(
            "ValidPorts lists ",
            Code(v.public_fqdn),
            ", so the proxy connects to that name; on ",
            Code(host),
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


def nspi(v: Values) -> Step | None:
    """The address book over HTTP on a global catalog (DOMAIN.md section 5)."""
    if not v.registry.nspi:
        return None
    hosts = v.registry.nspi_servers
    return Step(
        id="nspi",
        title="Address book on the global catalog",
        where=t("the console of ", *join_codes(hosts)),
        why=t(
            *join_codes(hosts),
            " also ",
            "is" if len(hosts) == 1 else "are",
            " a global catalog: address-book requests over HTTP need this value there.",
        ),
        body=(
            Commands((_cmd(v.registry.nspi),)),
            Note(
                "warning",
                "The server restarts",
                t(
                    "The value takes effect only after a restart of the server, which is an "
                    "outage of everything it runs. Schedule it."
                ),
            ),
        ),
        expected=t(
            "The value is set (type ",
            Code("REG_MULTI_SZ"),
            ") and the server has restarted; port 6004 then answers from the proxy.",
        ),
        blanks=("Restarted at",),
    )


def apply_validports(v: Values) -> Step:
    """No service restart: the proxy re-reads the value (DOMAIN.md sections 4, 8)."""
    body: list[Block] = []
    if v.registry.apply_by == "wait":
        body.append(
            Para(
                t(
                    "Wait five minutes: the proxy reads ValidPorts again by itself. Do not "
                    "restart the System Attendant on ",
                    Code(v.topology.proxy_host.name),
                    ": on an RPC-HTTP front-end it is what rewrites ValidPorts from Active "
                    "Directory. Read the value again 15 minutes after the change:",
                )
            )
        )
        body.append(Commands((_cmd(v.registry.query),)))
    else:
        body.append(
            Para(
                t(
                    "The proxy reads ValidPorts again within about five minutes: wait, or apply "
                    "it at once with ",
                    Code("iisreset"),
                    ", which briefly drops web mail and "
                    "RPC sessions. No Exchange service needs a restart for it.",
                )
            )
        )
        body.append(Commands((_cmd("iisreset"),)))
    verify = [
        t(
            Code("reg query"),
            " shows ",
            Code("ValidPorts    REG_SZ"),
            " with exactly the value of ",
            Ref("set-validports"),
            ".",
        )
    ]
    if v.registry.apply_by == "wait":
        verify.append(t("15 minutes after the change, the value is still the same."))
    return Step(
        id="apply-validports",
        title="Apply the change",
        where=_proxy(v),
        why=t("A new ValidPorts counts only once the proxy has read it."),
        body=tuple(body),
        verify=tuple(verify),
    )


def verify_validports(v: Values) -> Step:
    """The value compared by script rather than by eye (DOMAIN.md section 4)."""
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
    )


def analyzer(v: Values) -> Step:
    """Microsoft's own test of the path (DOMAIN.md section 7)."""
    ca = v.connectivity_analyzer
    email = v.migration_endpoint.email_address
    return Step(
        id="analyzer",
        title="Remote Connectivity Analyzer",
        where=t(
            "a browser anywhere, at ",
            Code("https://testconnectivity.microsoft.com"),
            ": the Outlook Connectivity test, settings given by hand",
        ),
        why=t("It pings every RPC port through the proxy, as the migration will."),
        body=(
            Form(
                (
                    FormField(
                        "E-mail address",
                        t(Code(email)) if email else t("an on-premises mailbox that is not hidden"),
                        bool(email),
                    ),
                    FormField("User name", t(Code(v.migration_endpoint.account))),
                    FormField("Password", t("typed now, never written down"), False),
                    FormField("Exchange server", t(Code(ca.exchange_server))),
                    FormField("RPC proxy server", t(Code(ca.rpc_proxy_server))),
                    FormField("Authentication", t(Code(ca.authentication))),
                    FormField("Mutual authentication principal", t(Code(ca.mutual_auth_principal))),
                )
            ),
            Para(t("The Exchange server is the internal name: the form refuses the public one.")),
            Commands(
                (_sh(v.checks.rpcproxy),),
                t(
                    "Before it, ",
                    Code("rpcproxy.py"),
                    " checks the certificate and that the proxy asks for ",
                    ca.authentication,
                    " on each RPC port:",
                ),
            ),
            Commands(tuple(_data(u) for u in v.rpc_proxy_urls), t("The addresses it tests:")),
        ),
        expected=t(
            "The test passes for ports " + ", ".join(str(p) for p in v.topology.rpc_ports) + "."
        ),
        verify=(t("The Connectivity Analyzer reports success."),),
        if_fails=t(
            "Error 1722 almost always means ValidPorts lacks the host:port asked for: compare "
            "it again (",
            Ref("verify-validports"),
            "). A certificate error means the certificate is not publicly trusted or lacks ",
            Code(v.public_fqdn),
            '. "No supported Authentication Methods found" means the ',
            Code("/rpc"),
            f" directory in IIS does not offer {ca.authentication}.",
        ),
    )


# --- Office 365 --------------------------------------------------------------------------


def lower_ttl(v: Values) -> Step:
    """The MX TTL at an hour or less before the batch starts (DOMAIN.md section 11)."""
    items = tuple(
        t(
            Code(d.domain),
            f": today {d.mx_ttl_now} s"
            + (f"; set it to {d.ttl} s." if d.mx_ttl_now != d.ttl else "; nothing to change."),
        )
        for d in v.dns
    )
    return Step(
        id="lower-ttl",
        title="Lower the MX TTL",
        where=t("the DNS host of each domain (registrar or DNS provider)"),
        why=t("With a short TTL the MX switch reaches senders within the hour."),
        body=(
            Checklist(items),
            Para(
                t(
                    "Write down each domain's MX record as it is today: the rollback puts it "
                    "back. Check today's records with ",
                    Code("dnsrecords.py"),
                    " (Python 3.8 or newer with dnspython):",
                )
            ),
            Commands(tuple(_sh(line) for line in v.checks.dns_before)),
            Commands((_sh(v.checks.runbook_check_dns_before),), t("or the runbook tool:")),
        ),
        when=_when(v, "lower-mx-ttl", "by"),
        blanks=tuple(f"Old MX of {d.domain}" for d in v.dns),
    )


def sign_in(v: Values) -> Step:
    """Where the cutover lives in today's admin center (DOMAIN.md section 9)."""
    return Step(
        id="sign-in",
        title="Sign in to the Exchange admin center",
        where=t("a browser, signed in as ", Code(v.admin)),
        why=t("The endpoint, the batch and its reports are made there."),
        body=(
            Para(
                t(
                    "Open ",
                    Strong("Migration"),
                    ", ",
                    Strong("Add migration batch"),
                    ", ",
                    Strong("Migration to Exchange Online"),
                    ", ",
                    Strong("Cutover migration"),
                    ".",
                )
            ),
            Commands(
                (_ps(v.powershell.connect),),
                t(
                    "For the PowerShell lines of the next steps, connect Exchange Online "
                    "PowerShell first:"
                ),
            ),
        ),
        expected=t(
            "The cutover wizard opens, and the migration list shows no other cutover batch."
        ),
    )


def endpoint(v: Values) -> Step:
    """The migration endpoint's fields, typed by hand (DOMAIN.md section 9)."""
    ep = v.migration_endpoint
    return Step(
        id="endpoint",
        title="The migration endpoint",
        where=t("the wizard's endpoint pages; name the endpoint ", Code(ep.name)),
        why=t("Exchange 2003 has no Autodiscover: every setting is given by hand."),
        body=(
            Form(
                (
                    FormField(
                        "E-mail address",
                        t(Code(ep.email_address))
                        if ep.email_address
                        else t("an on-premises mailbox that is not hidden"),
                        bool(ep.email_address),
                    ),
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
                    f"Type the concurrency shown rather than the form's own default, which "
                    f"differs between tenants: {ep.max_concurrent_migrations} here because "
                    f"{ep.concurrency_reason}."
                )
            ),
            Commands(
                (_ps(v.powershell.credential), _ps(v.powershell.test), _ps(v.powershell.endpoint)),
                t("Or in Exchange Online PowerShell (the first line asks for the password):"),
            ),
        ),
        expected=t("The endpoint is saved with no connection error."),
        if_fails=t(
            "A connection error here is what the Connectivity Analyzer finds: run it again (",
            Ref("analyzer"),
            ") and fix what it reports.",
        ),
    )


def batch(v: Values) -> Step:
    """The batch and who gets its reports (DOMAIN.md section 9)."""
    return Step(
        id="batch",
        title="The batch and its reports",
        where=t("the wizard's batch pages"),
        why=t("Without report recipients the batch does not start."),
        body=(
            Form(
                (
                    FormField("Batch name", t(Code(v.batch.name))),
                    FormField("Send a report to", join_codes(v.batch.notification_emails)),
                )
            ),
            Para(t("The recipient list can come up empty: add each address by hand.")),
            Commands((_ps(v.powershell.batch),), t("Or in Exchange Online PowerShell:")),
        ),
        expected=t("The batch ", Code(v.batch.name), " exists with every recipient above."),
        if_fails=t(
            '"Please provide the list of notification mails" means the batch has no '
            "recipients: add them in the batch's settings."
        ),
    )


def start_batch(v: Values) -> Step:
    """Starting the copy (DOMAIN.md section 9)."""
    return Step(
        id="start-batch",
        title="Start the batch",
        where=t("the Exchange admin center, the batch list"),
        why=t(
            "The initial copy of every mailbox starts now; users keep working on the old server."
        ),
        body=(
            Para(
                t(
                    "Select ",
                    Code(v.batch.name),
                    " and start it. Before that, the MX TTL must already be low (",
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
            " and the mailboxes appear in the "
            "list; users, contacts and mail-enabled groups are created as it runs.",
        ),
        when=_when(v, "start-batch", "on"),
    )


def initial_sync(v: Values) -> Step:
    """Waiting for the first full copy (DOMAIN.md section 9)."""
    of = f" of {v.mailbox_count}" if v.mailbox_count is not None else ""
    return Step(
        id="initial-sync",
        title="Initial sync complete",
        where=t("the Exchange admin center, the batch's details"),
        why=t("The switch waits until every mailbox has its first full copy."),
        body=(
            Para(
                t(
                    "From now on the batch copies new mail every 24 hours by itself. Leave it "
                    "to that schedule: a forced sync walks every mailbox on the old server and "
                    "loads the client's line for nothing."
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


# --- the switch --------------------------------------------------------------------------


def go_no_go(v: Values) -> Step:
    """The decision to touch DNS, signed (DOMAIN.md section 11)."""
    items = [
        t("Every mailbox in ", Code(v.batch.name), " is Synced and the last sync is recent."),
        t("Licences are ready for every migrated user."),
        t("The client knows mail moves now and every Outlook gets a new profile afterwards."),
        t("The old MX records are written down (", Ref("lower-ttl"), ")."),
    ]
    if v.outlook_to_upgrade:
        items.append(t(f"No computer still runs {_outlook(v.outlook_to_upgrade)}."))
    return Step(
        id="go-no-go",
        title="Go or no-go",
        where=t("with the client, before anyone touches DNS"),
        why=t("After the switch new mail lands in Office 365; every box ticked means go."),
        body=(Checklist(tuple(items)),),
        if_fails=t("Any empty box means no-go: the migration stays as it is (see Rolling back)."),
        when=_when(v, "switch-mx", "on"),
        signoff="go-no-go",
    )


def _records(d: DnsRecords) -> tuple[Block, ...]:
    """One domain's records as a table and as zone-file lines."""
    blocks: list[Block] = [
        Heading(d.domain),
        Table(
            ("Type", "Name", "Value", "TTL"),
            (
                (t("MX, priority 0"), t(Code(d.domain + ".")), t(Code(d.mx_target)), t(str(d.ttl))),
                (t("TXT (SPF)"), t(Code(d.domain + ".")), t(Code(d.spf_value)), t(str(d.ttl))),
                (
                    t("CNAME"),
                    t(Code(d.autodiscover_name)),
                    t(Code(d.autodiscover_target)),
                    t(str(d.ttl)),
                ),
            ),
        ),
    ]
    if not d.mx_target_confirmed:
        blocks.append(
            Note(
                "note",
                "Confirm the MX target",
                t(
                    Code(d.mx_target),
                    " is the usual form for ",
                    Code(d.domain),
                    "; the admin "
                    "center's page for the domain shows the exact value. Use that one if it "
                    "differs.",
                ),
            )
        )
    blocks.append(
        Commands((_data(d.mx), _data(d.spf), _data(d.autodiscover)), t("As zone-file lines:"))
    )
    return tuple(blocks)


def switch_dns(v: Values) -> Step:
    """MX, SPF and Autodiscover to Office 365 (DOMAIN.md section 11)."""
    body: list[Block] = [
        Para(
            t(
                "Replace the old MX records rather than adding beside them. A domain has one "
                "SPF record: if it has one, merge ",
                Code("include:spf.protection.outlook.com"),
                " into it instead of adding a second.",
            )
        ),
    ]
    for d in v.dns:
        body += _records(d)
    return Step(
        id="switch-dns",
        title="Switch the DNS records",
        where=t("the DNS host of each domain"),
        why=t("New mail goes to Office 365 from here on."),
        body=tuple(body),
        expected=t(
            "The DNS host shows the new records. Senders can take up to 72 hours to "
            "follow; mail that still reaches the old server meanwhile arrives with the "
            "next 24-hour sync."
        ),
        when=_when(v, "switch-mx", "on"),
        blanks=("Switched at (date and time)",),
    )


def wait_72h(v: Values) -> Step:
    """No deletion before 72 hours and a later sync (DOMAIN.md section 11)."""
    return Step(
        id="wait-72h",
        title="Wait, then confirm the last sync",
        where=t("the Exchange admin center, the batch's details; a laptop for the DNS check"),
        why=t("Deleting the batch too early loses mail that still reached the old server."),
        body=(
            Commands(
                tuple(_sh(line) for line in v.checks.dns_after),
                t("Confirm that mail now goes to Office 365:"),
            ),
            Commands((_sh(v.checks.runbook_check_dns_after),), t("or the runbook tool:")),
        ),
        verify=(
            t("At least 72 hours have passed since the switch."),
            t("The batch's last sync is later than the switch."),
        ),
        when=_when(v, "delete-batch", "not before"),
        blanks=("Last sync at",),
    )


def delete_batch(v: Values) -> Step:
    """The point of no return (DOMAIN.md section 9)."""
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


def after(v: Values) -> Step:
    """What remains once mail flows to Office 365 (DOMAIN.md sections 9, 11, 12)."""
    licence = _date(v, "licences")
    items = [
        t(
            "Every migrated user has a licence within 30 days",
            f": by {licence.date.isoformat()}." if licence else ".",
        ),
        t("Every user has a new Outlook profile: the cutover leaves profiles as they were."),
    ]
    if v.outlook_to_upgrade:
        items.append(
            t(f"{_outlook(v.outlook_to_upgrade)} replaced: it cannot connect to Exchange Online.")
        )
    if v.topology.exposed_ports:
        items.append(
            t(
                "The firewall rule publishing ports "
                + ", ".join(str(p) for p in v.topology.exposed_ports)
                + " on ",
                Code(v.public_fqdn),
                " is removed.",
            )
        )
    items.append(t("The rule for 443 to the old server is removed once nothing else needs it."))
    items.append(
        t(*join_codes(v.topology.old_servers), " taken offline, with the client's agreement.")
    )
    return Step(
        id="after",
        title="After the cutover",
        where=t("the client's office and the Microsoft 365 admin center"),
        why=t("The old server is retired only once nothing depends on it."),
        body=(Checklist(tuple(items)),),
    )


PHASES: tuple[tuple[str, str, tuple[StepBuilder, ...]], ...] = (
    (
        "Before you start",
        "Nothing is changed yet: this proves the path can work.",
        (requirements, outside_443),
    ),
    (
        "The RPC proxy server",
        "On the client's server: the proxy and what it may forward to.",
        (
            inside_ports,
            read_validports,
            backup_validports,
            set_validports,
            resolve_public_name,
            nspi,
            apply_validports,
            verify_validports,
            analyzer,
        ),
    ),
    (
        "Office 365",
        "The tenant side: DNS prepared, the endpoint, the batch, the initial copy.",
        (lower_ttl, sign_in, endpoint, batch, start_batch, initial_sync),
    ),
    (
        "The switch",
        "Mail moves to Office 365; the old server keeps copying until the batch is deleted.",
        (go_no_go, switch_dns, wait_72h, delete_batch, after),
    ),
)


# --- reference parts ---------------------------------------------------------------------


def _sheet(v: Values) -> tuple[SheetRow, ...]:
    """The values to type, each with the steps that use it."""
    ep = v.migration_endpoint
    both = (Ref("analyzer"), Ref("endpoint"))
    rows = [
        SheetRow("ValidPorts (REG_SZ)", t(Code(v.valid_ports)), (Ref("set-validports"),)),
        SheetRow("Exchange server", t(Code(v.exchange_server)), both),
        SheetRow("RPC proxy server", t(Code(v.public_fqdn)), both),
        SheetRow("Authentication", t(Code(ep.authentication)), both),
        SheetRow(
            "Mutual authentication principal",
            t(Code(v.connectivity_analyzer.mutual_auth_principal)),
            (Ref("analyzer"),),
        ),
        SheetRow("Account with privileges", t(Code(ep.account)), both),
        SheetRow(
            "E-mail address",
            t(Code(ep.email_address))
            if ep.email_address
            else t("none recorded: an on-premises mailbox that is not hidden"),
            both,
        ),
        SheetRow("Tenant administrator", t(Code(v.admin)), (Ref("sign-in"),)),
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
        note = "" if d.mx_target_confirmed else " (not confirmed: compare with the admin center)"
        rows.append(
            SheetRow(f"MX for {d.domain}", t(Code(d.mx_target), note), (Ref("switch-dns"),))
        )
    rows.append(
        SheetRow(
            "ValidPorts backup file", t(Code(v.registry.backup_file)), (Ref("backup-validports"),)
        )
    )
    return tuple(rows)


# The schedule's entries and the step each belongs to.
SCHEDULE_STEPS = {
    "prepare": "set-validports",
    "lower-mx-ttl": "lower-ttl",
    "start-batch": "start-batch",
    "initial-sync-done": "initial-sync",
    "switch-mx": "switch-dns",
    "delete-batch": "delete-batch",
    "licences": "after",
}


def _rollback(v: Values, ids: set[str]) -> tuple[RollbackRow, ...]:
    rows = [
        RollbackRow(
            "MX records",
            Ref("switch-dns"),
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
            "The running batch",
            Ref("start-batch"),
            t("Stop it (select it, Stop), and start it again later from where it stopped:"),
            (_ps(v.powershell.stop), _ps(v.powershell.start)),
            "the batch is deleted",
        ),
        RollbackRow(
            "ValidPorts",
            Ref("set-validports"),
            t(
                "Restore the backup, then apply it as in ",
                Ref("apply-validports"),
                ". If no value existed before, delete it instead (second line).",
            ),
            (_cmd(v.registry.restore), _cmd(v.registry.delete)),
            "any time",
        ),
    ]
    if "nspi" in ids and v.registry.nspi_delete:
        rows.append(
            RollbackRow(
                "The NSPI value",
                Ref("nspi"),
                t("It does no harm where it is. To remove it, delete it and restart the server:"),
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
                "The service cannot reach the proxy, or the proxy refuses the target. Run ",
                Ref("analyzer"),
                ": its report names the failing part.",
            ),
        ),
        Trouble(
            "Connectivity Analyzer error 1722",
            t(
                "ValidPorts lacks the host:port asked for, or the change has not been read "
                "yet. Compare it (",
                Ref("verify-validports"),
                "), wait five minutes, and test again.",
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
                " must come from a public "
                "authority and carry that name; a self-signed or internal certificate does "
                "not work for a cutover.",
            ),
        ),
        Trouble(
            "401 or 403 at the proxy",
            t(
                f"A 401 to a request without credentials is normal; a 401 with the right "
                f"credentials means the account or the authentication method ({auth}) is "
                f"wrong. A 403 usually means the ",
                Code("/rpc"),
                " directory requires a client certificate or SSL settings that reject the request.",
            ),
        ),
    )


def build_procedure(v: Values, revision: str, evidence: SavedEvidence | None = None) -> Procedure:
    """The whole, numbered procedure of one client."""
    phases = []
    for title, intro, builders in PHASES:
        steps = [s for s in (b(v) for b in builders) if s is not None]
        phases.append(Phase(title, t(intro), tuple(steps)))
    ids = {s.id for p in phases for s in p.steps}
    warnings = tuple(Warning(w.code, WARNING_TITLES[w.code], w.message) for w in v.warnings)
    phases = [_with_warnings(p, warnings) for p in phases]
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
            t(v.window.isoformat() if v.window else "no date in the client file yet"),
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
            summary=(),
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
            rollback=_rollback(v, ids),
            troubleshooting=_troubleshooting(v),
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

    steps = tuple(
        replace(s, warnings=tuple(w for w in warnings if WARNING_STEPS[w.code] == s.id))
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
        stale=None,
        refresh=_sh(f"{v.checks.runbook_check} --save"),
    )
