"""Phase 3, ValidPorts and the address book: what the proxy may forward to, set and proved."""

from __future__ import annotations

from generator.derive import Values
from generator.procedure import (
    Block,
    Choice,
    Code,
    Command,
    Commands,
    Form,
    FormField,
    Note,
    Option,
    Para,
    Part,
    Ref,
    Step,
    Strong,
    Table,
    join_codes,
    join_parts,
    t,
)
from generator.steps.common import _cmd, _data, _nspi_pending, _proxy, _ps, _sh, _test_mailbox

# --- ValidPorts and the address book ---------------------------------------------------------


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
        verify=(_banner_check(v),),
        if_fails=tuple(fails),
    )


def _banner_check(v: Values) -> tuple[Part, ...]:
    """The box ticked now: a global catalog's 6004 answers only after the NSPI value and its
    restart (DOMAIN.md 5), so that port is ticked in the NSPI step, not here."""
    late = v.registry.nspi_hosts
    if not late:
        return t("Every line shows ", Code("ncacn_http/1.0"), ".")
    steps = join_parts([Ref(f"nspi-{host.lower()}") for host in late])
    if len(late) == 1:
        which = " (by any name that leads to it), which answers only after its restart and is"
    else:
        which = " (by any name that leads there), which answer only after their restarts and are"
    return t(
        "Every line shows ",
        Code("ncacn_http/1.0"),
        ", except port 6004 on ",
        *join_codes(late),
        which,
        " ticked in ",
        *steps,
        ".",
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
        # the whole value, for the rollback: it runs to 140 characters and more
        long_blanks=("Value found (or none)",),
    )


def backup_validports(v: Values) -> Step:
    """A dated copy of the key before the change (DOMAIN.md 4)."""
    return Step(
        id="backup-validports",
        title="Back up the RpcProxy key",
        where=_proxy(v),
        why=t("The backup is what the rollback restores."),
        # the file's date comes from the plan: a print made after the window moved names
        # another file, and a second backup taken after the change would hold the new value
        body=(
            Commands(
                (_cmd(v.registry.backups_kept), _cmd(v.registry.backup)),
                t(
                    "If ",
                    Code("dir"),
                    " lists a backup from an earlier run, keep it and skip the second line (if ",
                    Code("reg"),
                    " asks to overwrite, answer ",
                    Strong("No"),
                    "): the rollback restores the earliest, taken before ValidPorts changed.",
                ),
            ),
        ),
        expected=t(
            Code(v.registry.backup_file),
            " exists, or ",
            Code("dir"),
            " listed an earlier backup.",
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
                        t("The value data for Registry Editor, typed or pasted as one line:"),
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
            "ValidPorts will list ",
            Code(v.public_fqdn),
            " (",
            Ref("set-validports"),
            ") and the proxy connects to it; on ",
            Code(v.topology.proxy_host.name),
            " that name must lead back to the server itself.",
        ),
        # ping resolves as the proxy does, hosts file included; nslookup asks DNS alone and
        # could never confirm the hosts-file fix below
        body=(
            Commands(
                (_cmd(f"ping -n 1 {v.public_fqdn}"),),
                t(
                    Code("ping"),
                    " resolves the name as the proxy does, the hosts file included (",
                    Code("nslookup"),
                    " asks the DNS server only):",
                ),
            ),
        ),
        expected=t(
            "The first line, ",
            Code(f"Pinging {v.public_fqdn}"),
            " and an address in brackets, shows the server's own internal address; "
            "whether the ping is answered does not matter here.",
        ),
        if_fails=t(
            "If it shows the public address or finds no host, add a host record for the name "
            "to the internal DNS (in the zone that holds it, or a zone of its own), or a line in ",
            Code(r"C:\WINDOWS\system32\drivers\etc\hosts"),
            " with the server's internal address.",
        ),
    )


def nspi(v: Values) -> list[Step]:
    """The address book over HTTP on each global catalog that needs it (DOMAIN.md 5)."""
    if not v.registry.nspi or not v.registry.nspi_query:
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
                    # a value already there (set by hand or by a wizard) is what a rollback
                    # must leave, so it is read before it is set, as ValidPorts is
                    Commands(
                        (_cmd(v.registry.nspi_query),),
                        t(
                            "Read the value as it is, and write down what it shows. If it shows ",
                            Code("ncacn_http:6004"),
                            " already, it is set: skip the rest of this step, restart included.",
                        ),
                    ),
                    Commands((_cmd(v.registry.nspi),), t("Otherwise set it:")),
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
                # the box the ports step leaves for after this restart
                verify=(
                    t(
                        "From the proxy, 6004 on ",
                        Code(host),
                        " now shows ",
                        Code("ncacn_http/1.0"),
                        " (its lines in ",
                        Ref("inside-ports"),
                        ").",
                    ),
                ),
                blanks=("Restarted at",),
                long_blanks=("Value found before (or none)",),
            )
        )
    return steps


def apply_validports(v: Values) -> Step:
    """No service restart: the proxy re-reads the value (DOMAIN.md 4, 8)."""
    if v.registry.managed_by_esm:
        body: tuple[Block, ...] = (
            Para(
                t(
                    "The front-end's System Attendant wrote ValidPorts at once when the servers "
                    "were marked (",
                    Ref("esm-topology"),
                    "), and the proxy takes it up within about five minutes: read it, and "
                    "wait that long before the gate (",
                    Ref("gate-again"),
                    "):",
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
            # the expected result is what this line shows (DOMAIN.md 4, "read")
            Commands((_cmd(v.registry.query),), t("Then read the value back:")),
        )
        expected = t(
            Code("reg query"),
            " shows ",
            Code("ValidPorts"),
            " of type ",
            Code("REG_SZ"),
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
    # with more than one server, the migration reaches each one's mailboxes through the proxy:
    # every host:port ValidPorts lists is tried, not the first server's alone
    several = len(v.topology.servers) > 1
    return Step(
        id="gate-again",
        title="Run the gate again",
        where=t(
            "the consultant's laptop outside the client's network, as in ",
            Ref("gate-outside"),
            ", and Exchange Online PowerShell",
        ),
        why=t("With the groundwork and ValidPorts in place, the full path must now pass."),
        body=(
            Commands(
                (
                    _sh(v.checks.runbook_check),
                    _sh(v.checks.runbook_check_rpc_all if several else v.checks.runbook_check_rpc),
                ),
                t(
                    "From outside, then RPC through the proxy to each port",
                    " of every server ValidPorts lists" if several else None,
                    " (add ",
                    Code("--save"),
                    " to keep the results for the runbook; without the runbook tool, the "
                    "check script lines of ",
                    Ref("gate-outside"),
                    " and ",
                    Ref("gate-microsoft"),
                    # those lines try the addresses below, one server's: say so, lest the
                    # others pass for tested
                    *(
                        (", which try ", Code(v.connectivity_analyzer.exchange_server), " only")
                        if several
                        else ()
                    ),
                    "):",
                ),
            ),
            Commands(
                (_ps(v.powershell.credential), _ps(v.powershell.test)),
                t(
                    "From Microsoft's side, connected as in ",
                    Ref("gate-microsoft"),
                    " (the first line asks for the password):",
                ),
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
            "The RPC server unavailable (error 1722 in the Analyzer): usually ValidPorts "
            "lacks what was asked for (",
            Ref("verify-validports"),
            ").",
            *_nspi_pending(v),
            " TLS or certificate: ",
            Ref("gate-outside"),
            ".",
        ),
    )
