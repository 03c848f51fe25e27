"""Stage "derive": every exact value of a client's runbook, computed once, with no I/O.

Each rule cites the section of DOMAIN.md it encodes. `Values` is what
`runbook values SLUG --json` prints and what every template, check and handout reads.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from generator.model import Client, Host, Server

RPCPROXY_KEY = r"HKLM\SOFTWARE\Microsoft\Rpc\RpcProxy"
RPCPROXY_KEY_LONG = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Rpc\RpcProxy"
BACKUP_PREFIX = "C:\\rpcproxy-backup-"  # the RpcProxy key's backups, dated (DOMAIN.md 4)
NTDS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\NTDS\Parameters"
O365_AUTODISCOVER = "autodiscover.outlook.com"
O365_SPF = "v=spf1 include:spf.protection.outlook.com -all"
MAX_MX_TTL = 3600  # DOMAIN.md section 11: lower the MX TTL to an hour or less
UNKNOWN_TTL_DAYS = 2  # DOMAIN.md section 11: an unknown old TTL is planned as two days
DELETE_AFTER_HOURS = 72  # DOMAIN.md section 11: the wait before deleting the batch
LICENCE_DAYS = 30  # DOMAIN.md section 9
RECOMMENDED_MAX_MAILBOXES = 150  # DOMAIN.md section 9
CERTIFICATE_MARGIN_DAYS = 7  # DOMAIN.md section 6: valid through window + 72 hours + margin
# Share of the upstream link the initial sync is assumed to get: RPC over HTTP adds overhead
# and the link still carries the office's own traffic (our planning assumption, stated in the
# runbook so the consultant can judge it).
SYNC_SHARE_OF_UPSTREAM = 0.5
UNKNOWN_SIZE_LEAD_DAYS = 7  # batch lead time when size or bandwidth is unknown
PREPARE_DAYS_BEFORE_START = 2  # ValidPorts, checks and any reboot before the batch starts
BUFFER_DAYS = 2  # one 24-hour incremental sync plus a day in hand before the switch


class Out(BaseModel):
    """Immutable output record; keys in declaration order make the JSON deterministic."""

    model_config = ConfigDict(frozen=True)


class RunbookWarning(Out):
    code: str
    message: str


class Registry(Out):
    key: str
    value_name: str
    value_type: str
    query: str
    backup: str
    backup_file: str
    backups_kept: str  # lists every backup an earlier run (or an earlier print) left
    set: str
    delete: str
    restore: str
    reg_file: str
    enabled_query: str
    enabled_set: str
    nspi: str | None
    nspi_delete: str | None
    nspi_query: str | None  # read before it is set: a value already there stays on rollback
    nspi_hosts: list[str]  # NetBIOS names to set the NSPI value on, each then rebooted
    managed_by_esm: bool  # a managed RPC-HTTP front-end's System Attendant writes ValidPorts


class Target(Out):
    host: str
    port: int


class Ports(Out):
    outside: list[Target]
    inside: list[Target]


class Telnet(Out):
    outside: list[str]
    inside: list[str]


class Topology(Out):
    proxy_runs_on: Literal["front-end", "mailbox server"]
    proxy_is_global_catalog: bool
    proxy_host: Host
    servers: list[Server]
    global_catalogs: list[Host]
    rpc_ports: list[int]
    exposed_ports: list[int]
    old_servers: list[str]  # every Exchange server to retire, the front-end included


class Outlook(Out):
    versions: list[int]
    to_upgrade: list[int]  # cannot connect to Exchange Online: replace at the switch
    out_of_support: list[int]  # may connect, not supported: plan the upgrade
    modern_auth_2013: list[str]  # reg add lines turning on modern authentication in 2013


class CheckCommands(Out):
    """The bundled check scripts' command lines for this client (python3 on a laptop)."""

    ports_outside: str
    ports_inside: str
    rpcproxy: str
    reg_query_to_file: str
    validports: str
    dns_before: list[str]
    dns_after: list[str]
    rpcping: str
    runbook_check: str
    runbook_check_rpc: str
    runbook_check_rpc_all: str  # every host:port of ValidPorts: each server's mailboxes
    runbook_check_dns_before: str
    runbook_check_dns_after: str
    runbook_verify: str


class ConnectivityAnalyzer(Out):
    exchange_server: str
    rpc_proxy_server: str
    authentication: str
    mutual_auth_principal: str


class MigrationEndpoint(Out):
    name: str
    email_address: str | None
    account: str
    exchange_server: str
    rpc_proxy_server: str
    authentication: str
    mailbox_permission: str
    mailbox_permission_label: str
    max_concurrent_migrations: int
    concurrency_reason: str


class Batch(Out):
    name: str
    notification_emails: list[str]


class PowerShell(Out):
    connect: str
    credential: str
    test: str
    endpoint: str
    batch: str
    start: str
    status: str
    stop: str
    remove: str


class DnsRecords(Out):
    domain: str
    mx_ttl: int | None  # the TTL recorded in the client file, or None when unknown
    mx_target: str | None  # copied from the admin center; never derived (DOMAIN.md 11)
    ttl: int  # the TTL to set: the recorded one at most an hour, an hour when unknown
    mx: str | None
    spf: str
    spf_value: str
    autodiscover: str
    autodiscover_name: str
    autodiscover_target: str


class ScheduleStep(Out):
    date: dt.date
    step: str
    title: str


class Schedule(Out):
    window: dt.date
    initial_sync_hours: float | None
    assumption: str
    steps: list[ScheduleStep]


class Values(Out):
    client: str
    slug: str
    consultant: str | None
    window: dt.date | None
    public_fqdn: str
    certificate_name: str
    admin: str
    exchange_server: str
    service_pack: int
    service_pack_text: str
    valid_ports: str
    valid_ports_entries: list[str]
    registry: Registry
    ports: Ports
    telnet: Telnet
    topology: Topology
    rpc_proxy_urls: list[str]
    checks: CheckCommands
    connectivity_analyzer: ConnectivityAnalyzer
    migration_endpoint: MigrationEndpoint
    batch: Batch
    powershell: PowerShell
    dns: list[DnsRecords]
    schedule: Schedule | None
    mailbox_count: int | None
    total_gb: float | None
    upstream_mbps: float | None
    outlook: Outlook
    tls_front: str | None
    certificate_valid_until: dt.date | None  # the certificate must not end before this day
    notes: str | None
    warnings: list[RunbookWarning]


def derive(client: Client, slug: str) -> Values:
    """All values of one client's runbook."""
    entries = valid_ports_entries(client)
    valid_ports = ";".join(entries)
    ports = port_targets(client, entries)
    endpoint = migration_endpoint(client, slug)
    batch = Batch(
        name=client.office365.batch_name or f"{slug}-cutover",
        notification_emails=report_recipients(client),
    )
    sched = schedule(client)
    dns = [dns_records(d.name, d.mx_target, d.mx_ttl) for d in client.domains]
    window = client.window
    return Values(
        client=client.client,
        slug=slug,
        consultant=client.consultant,
        window=client.window,
        public_fqdn=client.rpc_proxy.public_fqdn,
        certificate_name=certificate_name(client),
        admin=client.office365.admin,
        exchange_server=exchange_server(client),
        service_pack=client.exchange.service_pack,
        service_pack_text=f"SP{client.exchange.service_pack}"
        if client.exchange.service_pack
        else "without a service pack",
        valid_ports=valid_ports,
        valid_ports_entries=entries,
        registry=registry(client, valid_ports, sched),
        ports=ports,
        telnet=Telnet(
            outside=[f"telnet {t.host} {t.port}" for t in ports.outside],
            inside=[f"telnet {t.host} {t.port}" for t in ports.inside],
        ),
        topology=topology(client),
        rpc_proxy_urls=[
            f"https://{client.rpc_proxy.public_fqdn}/rpc/rpcproxy.dll?"
            f"{exchange_server(client)}:{port}"
            for port in rpc_ports(client)
        ],
        checks=check_commands(client, slug, entries, ports, dns),
        connectivity_analyzer=ConnectivityAnalyzer(
            exchange_server=exchange_server(client),
            rpc_proxy_server=client.rpc_proxy.public_fqdn,
            authentication=wizard_authentication(client),
            mutual_auth_principal="msstd:" + certificate_name(client),  # section 5
        ),
        migration_endpoint=endpoint,
        batch=batch,
        powershell=powershell(endpoint, batch, client.office365.admin),
        dns=dns,
        schedule=sched,
        mailbox_count=client.mailboxes.count if client.mailboxes else None,
        total_gb=client.mailboxes.total_gb if client.mailboxes else None,
        upstream_mbps=client.network.upstream_mbps if client.network else None,
        outlook=outlook(client),
        tls_front=client.rpc_proxy.tls_front,
        certificate_valid_until=certificate_valid_until(window),
        notes=client.notes,
        warnings=warnings(client),
    )


def exchange_server(client: Client) -> str:
    """The server the Analyzer and the endpoint name: the first one's internal FQDN (section 5)."""
    return client.exchange.servers[0].fqdn


def certificate_name(client: Client) -> str:
    """The name on the certificate, for the msstd: principal (section 5)."""
    return client.rpc_proxy.certificate_name or client.rpc_proxy.public_fqdn


OUT_OF_SUPPORT_OUTLOOK = (2013, 2016, 2019, 2021)  # DOMAIN.md section 12
OFFICE_TARGET = "Microsoft 365 Apps or Office LTSC 2024"  # DOMAIN.md section 12: the target
MICROSOFT_365_APPS = 365  # the subscription's Outlook: no year, always current
OUTLOOK_2013_MODERN_AUTH = (  # DOMAIN.md section 12: three HKCU values, REG_DWORD 1
    (r"HKCU\Software\Microsoft\Exchange", "AlwaysUseMSOAuthForAutoDiscover"),
    (r"HKCU\Software\Microsoft\Office\15.0\Common\Identity", "EnableADAL"),
    (r"HKCU\Software\Microsoft\Office\15.0\Common\Identity", "Version"),
)


def outlook(client: Client) -> Outlook:
    """Which Outlook versions must be replaced, which may work unsupported (section 12)."""
    versions = sorted(client.outlook_versions, key=lambda v: (v == MICROSOFT_365_APPS, v))
    return Outlook(
        versions=versions,
        to_upgrade=[v for v in versions if v != MICROSOFT_365_APPS and v <= 2010],
        out_of_support=[v for v in versions if v in OUT_OF_SUPPORT_OUTLOOK],
        modern_auth_2013=[
            f'reg add "{key}" /v {name} /t REG_DWORD /d 1 /f'
            for key, name in OUTLOOK_2013_MODERN_AUTH
        ]
        if 2013 in versions
        else [],
    )


def nspi_hosts(client: Client) -> list[str]:
    """Where the NSPI value is set and the server rebooted (DOMAIN.md section 5's table).

    The Exchange server when it is a global catalog, whatever the service pack; before SP1
    also every listed global catalog; nothing for a separate GC from SP1 on.
    """
    hosts = [s.name for s in client.exchange.servers if s.global_catalog]
    if client.exchange.service_pack == 0:
        # NetBIOS names know no case: SBS01 listed again as sbs01 is the same server
        seen = {h.lower() for h in hosts}
        for gc in client.exchange.global_catalogs:
            if gc.name.lower() not in seen:
                seen.add(gc.name.lower())
                hosts.append(gc.name)
    return hosts


def managed_by_esm(client: Client) -> bool:
    """Whether a front-end's System Attendant writes ValidPorts (DOMAIN.md section 3).

    A front-end marked "RPC-HTTP front-end server" lists every back-end from SP1 on; before
    SP1 the global catalogs must be listed too, which it never does, so the value is kept by
    hand there.
    """
    return client.rpc_proxy.front_end is not None and client.exchange.service_pack > 0


def rpc_ports(client: Client) -> list[int]:
    """Ports the proxy forwards to: 6002 exists only from SP1 on (DOMAIN.md section 1)."""
    return [6001, 6004] if client.exchange.service_pack == 0 else [6001, 6002, 6004]


def _port_items(client: Client) -> list[str]:
    """ValidPorts port items for one host (DOMAIN.md section 3)."""
    return ["6001", "6004"] if client.exchange.service_pack == 0 else ["6001-6002", "6004"]


def valid_ports_entries(client: Client) -> list[str]:
    """The `host:ports` items of ValidPorts in the order DOMAIN.md section 3 gives."""
    hosts: list[str] = []
    for server in client.exchange.servers:
        hosts += [server.name, server.fqdn]
    entries = [f"{host}:{ports}" for host in hosts for ports in _port_items(client)]
    if client.exchange.service_pack == 0:
        # before SP1 the address book is reached on each global catalog (DOMAIN.md section 3)
        for gc in client.exchange.global_catalogs:
            entries += [f"{gc.name}:6004", f"{gc.fqdn}:6004"]
    if client.rpc_proxy.front_end is None:
        public = client.rpc_proxy.public_fqdn
        entries += [f"{public}:{ports}" for ports in _port_items(client)]
    return entries


def _single_ports(item: str) -> list[int]:
    """`6001-6002` as [6001, 6002]; `6004` as [6004]."""
    first, _, last = item.partition("-")
    return list(range(int(first), int(last or first) + 1))


def port_targets(client: Client, entries: list[str]) -> Ports:
    """What to test from outside and from the proxy host (DOMAIN.md section 2)."""
    public = client.rpc_proxy.public_fqdn
    outside = [Target(host=public, port=443)]
    if client.rpc_proxy.expose_rpc_ports:
        outside += [Target(host=public, port=p) for p in rpc_ports(client)]
    inside = []
    for entry in entries:
        host, _, item = entry.rpartition(":")
        inside += [Target(host=host, port=p) for p in _single_ports(item)]
    return Ports(outside=outside, inside=inside)


def topology(client: Client) -> Topology:
    """Which host runs the proxy and what it forwards to, for the steps and the diagram."""
    front = client.rpc_proxy.front_end
    first = client.exchange.servers[0]
    return Topology(
        proxy_runs_on="front-end" if front else "mailbox server",
        proxy_is_global_catalog=front is None and first.global_catalog,
        proxy_host=front or Host(name=first.name, fqdn=first.fqdn),
        servers=list(client.exchange.servers),
        global_catalogs=list(client.exchange.global_catalogs)
        if client.exchange.service_pack == 0
        else [],
        rpc_ports=rpc_ports(client),
        exposed_ports=rpc_ports(client) if client.rpc_proxy.expose_rpc_ports else [],
        old_servers=[s.name for s in client.exchange.servers] + ([front.name] if front else []),
    )


def registry(client: Client, valid_ports: str, sched: Schedule | None) -> Registry:
    """The reg.exe lines and `.reg` file for ValidPorts, `Enabled` and NSPI (sections 3-5)."""
    stamp = sched.steps[0].date.strftime("%Y%m%d") if sched else "before-cutover"
    backup_file = f"{BACKUP_PREFIX}{stamp}.reg"
    hosts = nspi_hosts(client)
    reg_file = "\r\n".join(
        [
            "Windows Registry Editor Version 5.00",
            "",
            f"[{RPCPROXY_KEY_LONG}]",
            f'"ValidPorts"="{valid_ports}"',
            "",
        ]
    )
    return Registry(
        key=RPCPROXY_KEY,
        value_name="ValidPorts",
        value_type="REG_SZ",
        query=f'reg query "{RPCPROXY_KEY}" /v ValidPorts',
        backup=f'reg export "{RPCPROXY_KEY}" {backup_file}',
        backup_file=backup_file,
        backups_kept=f"dir {BACKUP_PREFIX}*.reg",
        set=f'reg add "{RPCPROXY_KEY}" /v ValidPorts /t REG_SZ /d "{valid_ports}" /f',
        delete=f'reg delete "{RPCPROXY_KEY}" /v ValidPorts /f',
        restore=f"reg import {backup_file}",
        reg_file=reg_file,
        enabled_query=f'reg query "{RPCPROXY_KEY}" /v Enabled',
        enabled_set=f'reg add "{RPCPROXY_KEY}" /v Enabled /t REG_DWORD /d 1 /f',
        nspi=(
            f'reg add "{NTDS_KEY}" /v "NSPI interface protocol sequences" '
            '/t REG_MULTI_SZ /d "ncacn_http:6004" /f'
        )
        if hosts
        else None,
        nspi_delete=f'reg delete "{NTDS_KEY}" /v "NSPI interface protocol sequences" /f'
        if hosts
        else None,
        nspi_query=f'reg query "{NTDS_KEY}" /v "NSPI interface protocol sequences"'
        if hosts
        else None,
        nspi_hosts=hosts,
        managed_by_esm=managed_by_esm(client),
    )


REG_QUERY_FILE = "reg-query.txt"


def certificate_valid_until(window: dt.date | None) -> dt.date | None:
    """The day the certificate must last through: the switch, the 72 hours before the batch
    is deleted, and a margin (DOMAIN.md 6)."""
    if window is None:
        return None
    return window + dt.timedelta(hours=DELETE_AFTER_HOURS, days=CERTIFICATE_MARGIN_DAYS)


def check_commands(
    client: Client, slug: str, entries: list[str], ports: Ports, dns: list[DnsRecords]
) -> CheckCommands:
    """How to run each bundled check for this client; the values are the runbook's own."""
    public = client.rpc_proxy.public_fqdn
    rpc = ",".join(str(p) for p in rpc_ports(client))
    method = client.rpc_proxy.authentication
    expected = ";".join(entries)
    # the script warns by the day the certificate steps name, not a week after the switch
    until = certificate_valid_until(client.window)
    return CheckCommands(
        ports_outside="python3 ports.py " + " ".join(f"{t.host}:{t.port}" for t in ports.outside),
        ports_inside="python3 ports.py " + " ".join(entries),
        # a list with commas quoted: PowerShell would pass it to Python as three words
        rpcproxy=f"python3 rpcproxy.py --server {exchange_server(client)} "
        f"--auth-method {method} --ports {_quoted(rpc)}"
        + (f" --valid-until {until.isoformat()}" if until else "")
        + f" {public}",
        reg_query_to_file=f'reg query "{RPCPROXY_KEY}" /v ValidPorts > {REG_QUERY_FILE}',
        validports=f'python3 validports.py --expected "{expected}" {REG_QUERY_FILE}',
        dns_before=[_dnsrecords("before", d) for d in dns],
        dns_after=[_dnsrecords("after", d) for d in dns],
        # quoted for the laptop's shell: unquoted, `DOMAIN\user` loses its backslash and zsh
        # refuses the `?` of an address that matches no file
        rpcping=f"python3 rpcping.py --user {_quoted(client.office365.migration_account)} "
        f"--auth {method} "
        + " ".join(
            _quoted(f"https://{public}/rpc/rpcproxy.dll?{exchange_server(client)}:{port}")
            for port in rpc_ports(client)
        ),
        runbook_check=f"runbook check {slug}",
        runbook_check_rpc=f"runbook check {slug} --rpc",
        runbook_check_rpc_all=f"runbook check {slug} --rpc --all-targets",
        runbook_check_dns_before=f"runbook check {slug} --dns before",
        runbook_check_dns_after=f"runbook check {slug} --dns after",
        runbook_verify=f"runbook verify-validports {slug} {REG_QUERY_FILE}",
    )


# What a double-quoted word may hold to read the same in a POSIX shell, cmd.exe and
# PowerShell: none of their expansions (`$`, a backtick, `%`, `!`) nor a quote, and no
# backslash before one of those (a backslash before a letter is the same character in all).
_UNQUOTABLE = re.compile(r'["$`%!]|\\$')


def _quoted(word: str) -> str:
    """`word` in double quotes, read as one word, as it stands, by the shell of a Linux or
    macOS laptop (sh, bash, zsh), by cmd.exe and by PowerShell; single quotes are characters
    of their own to cmd.exe (a Windows laptop's `python3 rpcping.py --user '...'` failed)."""
    if _UNQUOTABLE.search(word):  # the values are validated long before: never on paper
        raise ValueError(f"cannot quote {word!r} for every shell")
    return f'"{word}"'


def _dnsrecords(mode: str, d: DnsRecords) -> str:
    """The check of one domain; every domain has one, the MX target given where it is
    recorded (never derived, DOMAIN.md 11: without it the script still checks TTL, SPF and
    Autodiscover and shows the MX to compare)."""
    target = f" --mx-target {d.mx_target}" if d.mx_target else ""
    return f"python3 dnsrecords.py --mode {mode}{target} {d.domain}"


def wizard_authentication(client: Client) -> str:
    """Authentication as the wizard and PowerShell write it: Basic or NTLM."""
    return "NTLM" if client.rpc_proxy.authentication == "ntlm" else "Basic"


def concurrency(client: Client) -> tuple[int, str]:
    """Maximum concurrent migrations and why (DESIGN.md; DOMAIN.md section 7)."""
    # the reason is one plain sentence: the endpoint step prints it as it stands
    given = client.office365.concurrent_mailboxes
    if given is not None:
        return given, "The number is set in the client file."
    if client.network is None:
        return 3, "The upstream bandwidth is unknown, so 3 is a cautious choice."
    mbps = client.network.upstream_mbps
    if mbps < 10:
        return 1, f"The link's {mbps:g} Mbit/s upstream is slow, so one mailbox at a time."
    count = min(20, int(mbps // 5))
    return count, (
        f"Counting one mailbox per 5 Mbit/s (this runbook's rule of thumb, never more than "
        f"20), the link's {mbps:g} Mbit/s upstream allows {count} at once."
    )


def migration_endpoint(client: Client, slug: str) -> MigrationEndpoint:
    """The migration endpoint's fields, written as the wizard shows them (section 7)."""
    count, reason = concurrency(client)
    full = client.office365.mailbox_permission == "full_access"
    return MigrationEndpoint(
        name=f"{slug}-endpoint",
        email_address=client.office365.test_mailbox,
        account=client.office365.migration_account,
        exchange_server=exchange_server(client),
        rpc_proxy_server=client.rpc_proxy.public_fqdn,
        authentication=wizard_authentication(client),
        mailbox_permission="FullAccess" if full else "Admin",
        mailbox_permission_label="Full access" if full else "Admin",
        max_concurrent_migrations=count,
        concurrency_reason=reason,
    )


def powershell(endpoint: MigrationEndpoint, batch: Batch, admin: str) -> PowerShell:
    """The Exchange Online PowerShell route with this client's values (section 7)."""
    common = (
        f"-ExchangeServer {endpoint.exchange_server} -RPCProxyServer {endpoint.rpc_proxy_server} "
        f"-Authentication {endpoint.authentication} -MailboxPermission "
        f"{endpoint.mailbox_permission} -Credentials $cred"
    )
    email = f" -EmailAddress {endpoint.email_address}" if endpoint.email_address else ""
    return PowerShell(
        connect=f"Connect-ExchangeOnline -UserPrincipalName {admin}",
        credential=f"$cred = Get-Credential -UserName '{endpoint.account}' "
        "-Message 'Password of the migration account'",
        # the test signs in as the endpoint will, with the same permission (TEST-MSA: the
        # permission the account holds, for a cutover or for creating its endpoint)
        test="Test-MigrationServerAvailability -ExchangeOutlookAnywhere "
        f"-ExchangeServer {endpoint.exchange_server} -RPCProxyServer "
        f"{endpoint.rpc_proxy_server} -Credentials $cred -Authentication "
        f"{endpoint.authentication} -MailboxPermission {endpoint.mailbox_permission}{email}",
        endpoint=f"New-MigrationEndpoint -ExchangeOutlookAnywhere -Name {endpoint.name} "
        f"{common}{email} -MaxConcurrentMigrations {endpoint.max_concurrent_migrations}",
        batch=f"New-MigrationBatch -Name {batch.name} -SourceEndpoint {endpoint.name} "
        f"-NotificationEmails {','.join(batch.notification_emails)}",
        start=f"Start-MigrationBatch -Identity {batch.name}",
        status=f"Get-MigrationBatch -Identity {batch.name} | Format-List Status,*Count*",
        stop=f"Stop-MigrationBatch -Identity {batch.name}",
        remove=f"Remove-MigrationBatch -Identity {batch.name}",
    )


def dns_records(domain: str, mx_target: str | None, mx_ttl: int | None) -> DnsRecords:
    """MX, SPF and Autodiscover records for one domain (DOMAIN.md section 11).

    The MX target is never computed: Microsoft says to copy it from the admin center, and
    names under mx.microsoft cannot be derived. Without it there is no MX line to print.
    """
    ttl = MAX_MX_TTL if mx_ttl is None else min(mx_ttl, MAX_MX_TTL)
    return DnsRecords(
        domain=domain,
        mx_ttl=mx_ttl,
        mx_target=mx_target,
        ttl=ttl,
        mx=f"{domain}. {ttl} IN MX 0 {mx_target}." if mx_target else None,
        spf=f'{domain}. {ttl} IN TXT "{O365_SPF}"',
        spf_value=O365_SPF,
        autodiscover=f"autodiscover.{domain}. {ttl} IN CNAME {O365_AUTODISCOVER}.",
        autodiscover_name=f"autodiscover.{domain}",
        autodiscover_target=O365_AUTODISCOVER,
    )


def ttl_lead_days(client: Client) -> int:
    """Days the lowered TTL needs before the switch: one old TTL, two days when unknown."""
    days = [
        UNKNOWN_TTL_DAYS if d.mx_ttl is None else math.ceil(d.mx_ttl / 86400)
        for d in client.domains
    ]
    return max(days)


def initial_sync_hours(client: Client) -> float | None:
    """Hours the initial copy takes at the assumed share of the upstream, when known."""
    if not (client.mailboxes and client.mailboxes.total_gb is not None and client.network):
        return None
    megabits = client.mailboxes.total_gb * 8000  # 1 GB = 8,000 Mbit
    return megabits / (client.network.upstream_mbps * SYNC_SHARE_OF_UPSTREAM) / 3600


def initial_sync_days(client: Client) -> int:
    """Whole days planned for the initial sync (a week's lead less the buffer when unknown)."""
    hours = initial_sync_hours(client)
    return UNKNOWN_SIZE_LEAD_DAYS - BUFFER_DAYS if hours is None else max(1, math.ceil(hours / 24))


def batch_lead_days(client: Client) -> int:
    """Days before the switch the preparation starts: initial sync, buffer, preparation."""
    return initial_sync_days(client) + BUFFER_DAYS + PREPARE_DAYS_BEFORE_START


def _validports_entry(client: Client, day: dt.date) -> ScheduleStep:
    """The preparation day's ValidPorts work, named as its step is: a managed front-end's
    value is compared, never set by hand (DOMAIN.md 3)."""
    if managed_by_esm(client):
        return ScheduleStep(
            date=day, step="compare-validports", title="Compare ValidPorts by script"
        )
    return ScheduleStep(date=day, step="set-validports", title="Set ValidPorts")


def schedule(client: Client) -> Schedule | None:
    """Dated steps working back from the MX switch on the window (DOMAIN.md sections 9, 11)."""
    window = client.window
    if window is None:
        return None
    hours = initial_sync_hours(client)
    sync_days = initial_sync_days(client)
    if hours is None:
        assumption = (
            f"Mailbox size or upstream bandwidth unknown: the batch starts "
            f"{UNKNOWN_SIZE_LEAD_DAYS} days before the switch."
        )
    else:
        assert client.mailboxes and client.network  # known when hours is
        assumption = (
            f"Initial sync of {client.mailboxes.total_gb:g} GB at "
            f"{int(SYNC_SHARE_OF_UPSTREAM * 100)}% of {client.network.upstream_mbps:g} Mbit/s "
            f"upstream: about {hours:.1f} hours."
        )
    start = window - dt.timedelta(days=sync_days + BUFFER_DAYS)
    prepare = start - dt.timedelta(days=PREPARE_DAYS_BEFORE_START)
    lower_ttl = min(prepare, window - dt.timedelta(days=ttl_lead_days(client)))
    day = dt.timedelta(days=1)
    steps = [
        # each entry names the one step it points at; ValidPorts first, then the gate on it
        _validports_entry(client, prepare),
        # the NSPI value counts only after a restart, which the gate again needs; the restart
        # is an outage of that server (DOMAIN.md 5: "schedule it")
        *(
            ScheduleStep(
                date=prepare,
                step=f"nspi-{host.lower()}",
                title=f"Restart {host} for the NSPI value: an outage, at an agreed time",
            )
            for host in nspi_hosts(client)
        ),
        ScheduleStep(date=prepare, step="prepare", title="Run the gate again"),
        ScheduleStep(
            date=lower_ttl, step="lower-mx-ttl", title=f"MX TTL at {MAX_MX_TTL} s or less"
        ),
        ScheduleStep(date=start, step="start-batch", title="Start the migration batch"),
        ScheduleStep(
            date=start + sync_days * day,
            step="initial-sync-done",
            title="Initial sync expected to be complete",
        ),
        # licences right after the initial sync and before the switch (DOMAIN.md 11: licences
        # -> MX); the go/no-go on the window needs them. The 30-day grace (DOMAIN.md 9) only
        # brings the day forward when the batch starts more than 30 days before the window.
        # Listed before the switch, so that it stays before it on the same day.
        ScheduleStep(
            date=min(window, start + LICENCE_DAYS * day),
            step="licences",
            title="Every migrated user licensed, before the go/no-go",
        ),
        ScheduleStep(date=window, step="switch-mx", title="Switch MX to Exchange Online"),
        ScheduleStep(
            date=window + dt.timedelta(hours=DELETE_AFTER_HOURS),
            step="delete-batch",
            title="Earliest day to delete the batch (72 hours after the switch)",
        ),
    ]
    steps.sort(key=lambda s: s.date)
    hours = round(hours, 1) if hours is not None else None
    return Schedule(window=window, initial_sync_hours=hours, assumption=assumption, steps=steps)


def _rpc_ports_exposed(client: Client) -> str | None:
    if not client.rpc_proxy.expose_rpc_ports:
        return None
    ports = ", ".join(str(p) for p in rpc_ports(client))
    return (
        f"Ports {ports} are published on the firewall. Office 365 needs only 443; close them "
        "again as soon as the migration is over."
    )


def _front_end(client: Client) -> str | None:
    front = client.rpc_proxy.front_end
    if front is None:
        return None
    if managed_by_esm(client):
        return (
            f"{front.name} runs the RPC proxy for the back-ends: as an RPC-HTTP front-end its "
            "System Attendant writes ValidPorts from Active Directory and rewrites it every 15 "
            "minutes, so the value is set through Exchange System Manager and then verified, "
            "never typed."
        )
    return (
        f"{front.name} runs the RPC proxy, and without a service pack its System Attendant "
        "cannot list the global catalogs: keep it out of the managed RPC-HTTP topology and "
        "ValidPorts by hand, or a later poll removes the entries."
    )


def _pre_sp1(client: Client) -> str | None:
    if client.exchange.service_pack != 0:
        return None
    return (
        "Exchange 2003 without a service pack has no port 6002, and every global catalog "
        "needs the NSPI value, a reboot and its own ValidPorts entries. Installing SP2 first "
        "makes the migration simpler."
    )


def _gcs_ignored(client: Client) -> str | None:
    if client.exchange.service_pack == 0 or not client.exchange.global_catalogs:
        return None
    return (
        "global_catalogs are listed but only used without a service pack: from SP1 the "
        "Exchange server answers address-book requests itself."
    )


def _over_150(client: Client) -> str | None:
    count = client.mailboxes.count if client.mailboxes else None
    if count is None or count <= RECOMMENDED_MAX_MAILBOXES:
        return None
    return (
        f"{count} mailboxes: Microsoft recommends a cutover for 150 or fewer. Expect a long "
        "initial sync, and many Outlook profiles to make again after the switch."
    )


def outlook_names(versions: list[int]) -> str:
    """`Outlook 2007, Outlook 2010 and Microsoft 365 Apps`: a list read as one."""
    names = ["Microsoft 365 Apps" if v == 365 else f"Outlook {v}" for v in versions]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _outlook_too_old(client: Client) -> str | None:
    old = outlook(client).to_upgrade
    if not old:
        return None
    return (
        f"{outlook_names(old)} cannot connect to Exchange Online: those computers need "
        f"{OFFICE_TARGET} at the switch."
    )


def _outlook_out_of_support(client: Client) -> str | None:
    kept = outlook(client).out_of_support
    if not kept:
        return None
    verb, it = ("is", "it") if len(kept) == 1 else ("are", "they")
    return (
        f"{outlook_names(kept)} {verb} past the end of Microsoft's support for connecting to "
        f"Microsoft 365: {it} may work, but plan the upgrade."
    )


def _outlook_newer_than_2003(client: Client) -> str | None:
    """Outlook 2016 and later cannot open a mailbox on Exchange 2003 (DOMAIN.md 12): listed as
    in use, those computers reach mail some other way today, or the list is wrong."""
    newer = [v for v in outlook(client).versions if v >= 2016 or v == MICROSOFT_365_APPS]
    if not newer:
        return None
    those = "it" if len(newer) == 1 else "them"
    return (
        f"{outlook_names(newer)} cannot open a mailbox on Exchange 2003: find out how the "
        f"computers with {those} reach mail today (Outlook Web Access, POP or IMAP), or "
        "correct outlook_versions in the client file."
    )


def _mx_ttl_high(client: Client) -> str | None:
    high = [d for d in client.domains if d.mx_ttl is not None and d.mx_ttl > MAX_MX_TTL]
    if not high:
        return None
    names = ", ".join(f"{d.name} ({d.mx_ttl} s)" for d in high)
    return (
        f"MX TTL above {MAX_MX_TTL} s for {names}: lower it before the batch starts, at least "
        "one old TTL before the switch."
    )


def _mx_ttl_unknown(client: Client) -> str | None:
    unknown = [d.name for d in client.domains if d.mx_ttl is None]
    if not unknown:
        return None
    return (
        f"The MX TTL of {', '.join(unknown)} is not recorded: look it up before planning, "
        "and allow two days for the lowered TTL until it is known."
    )


def _mx_target_unconfirmed(client: Client) -> str | None:
    missing = [d.name for d in client.domains if d.mx_target is None]
    if not missing:
        return None
    return (
        f"No MX target is recorded for {', '.join(missing)}: the runbook leaves a blank to "
        "copy it into from the admin center's DNS records for the domain."
    )


def in_migrated_domain(address: str, domains: list[str]) -> bool:
    """Whether mail to `address` stays inside Exchange Online once `domains` move: a report
    sent there lands in a cloud mailbox nobody watches (DOMAIN.md 9)."""
    return address.rpartition("@")[2].lower() in {d.lower() for d in domains}


def report_recipients(client: Client) -> list[str]:
    """The batch's report recipients: the client file's (the tenant administrator when it
    lists none) less those in a domain being migrated, whose reports would land in a cloud
    mailbox nobody watches and may carry first passwords (DOMAIN.md 9); the administrator
    in their place when none is left. Only when the administrator is in a migrated domain
    too is the list kept as it is (the warning asks for another address)."""
    admin = client.office365.admin
    listed = list(client.office365.notification_emails or [admin])
    domains = [d.name for d in client.domains]
    watched = [e for e in listed if not in_migrated_domain(e, domains)]
    if watched:
        return watched
    if not in_migrated_domain(admin, domains):
        return [admin]
    return listed


def _report_recipient_migrated(client: Client) -> str | None:
    domains = [d.name for d in client.domains]
    recipients = client.office365.notification_emails or [client.office365.admin]
    inside = [e for e in recipients if in_migrated_domain(e, domains)]
    if not inside:
        return None
    one = len(inside) == 1
    said = (
        f"{', '.join(inside)} {'is' if one else 'are'} in a domain being migrated: reports "
        "would land in the new cloud mailbox, not the one being watched. "
    )
    used = report_recipients(client)
    if not any(e in used for e in inside):
        added = [e for e in used if e not in recipients]
        it = "it" if one else "them"
        if added:
            return said + (
                f"This runbook leaves {it} out of the batch's report recipients and sends the "
                f"reports to {added[0]} instead; remove {it} from office365.notification_emails "
                "in the client file, or list an outside address there to choose another."
            )
        return said + (
            f"This runbook leaves {it} out of the batch's report recipients; remove {it} from "
            "office365.notification_emails in the client file."
        )
    admin = client.office365.admin
    who = (
        "an outside address or the tenant's onmicrosoft.com administrator"
        if in_migrated_domain(admin, domains)
        else f"{admin} or an outside address"
    )
    # reached only when no address can replace them: the administrator is in a migrated
    # domain too, listed or used because the file lists none
    listed = client.office365.notification_emails is not None
    return said + (
        f"List {who} under office365.notification_emails in the client file"
        + (
            " instead: this runbook's commands use the addresses the file lists."
            if listed
            else f": without that list, this runbook's commands send the reports to {admin}."
        )
    )


def _iis6_tls(client: Client) -> str | None:
    if client.rpc_proxy.tls_front:
        return None
    return (
        "Nothing in front of IIS 6 is recorded to offer TLS 1.2, and IIS 6 offers TLS 1.0 at "
        "most: expect the migration service to refuse the connection. The gate shows it in "
        "minutes; the first option of Plan B is a device that offers TLS 1.2. Where one is "
        "in place, name it under rpc_proxy.tls_front in the client file."
    )


def _no_test_mailbox(client: Client) -> str | None:
    if client.office365.test_mailbox is not None:
        return None
    return (
        "No test mailbox is recorded: the gate test and the endpoint need the address of an "
        "on-premises mailbox that is not hidden; the handout leaves a blank for it."
    )


def _slow_link(client: Client) -> str | None:
    if not client.network or client.network.upstream_mbps >= 10:
        return None
    asked = client.office365.concurrent_mailboxes
    return (
        f"{client.network.upstream_mbps:g} Mbit/s upstream is a slow link: "
        + (
            "migrate one mailbox at a time"
            if asked in (None, 1)
            else f"the client file asks for {asked} at once, more than such a link carries well"
        )
        + ", and expect the initial sync to take long."
    )


# DESIGN.md's warning codes, each raised exactly when its rule returns a message, in the order
# a reader meets them.
WARNING_RULES = (
    ("iis6-tls-1.0", _iis6_tls),
    ("pre-sp1", _pre_sp1),
    ("over-150-mailboxes", _over_150),
    ("outlook-too-old", _outlook_too_old),
    ("outlook-out-of-support", _outlook_out_of_support),
    ("outlook-newer-than-exchange", _outlook_newer_than_2003),
    ("rpc-ports-exposed", _rpc_ports_exposed),
    ("front-end-rewrites-validports", _front_end),
    ("global-catalogs-ignored", _gcs_ignored),
    ("mx-ttl-high", _mx_ttl_high),
    ("mx-ttl-unknown", _mx_ttl_unknown),
    ("mx-target-unconfirmed", _mx_target_unconfirmed),
    ("report-recipient-migrated", _report_recipient_migrated),
    ("slow-link-concurrency", _slow_link),
    ("no-test-mailbox", _no_test_mailbox),
)


def warnings(client: Client) -> list[RunbookWarning]:
    """Warning codes of DESIGN.md, each raised exactly when its condition holds."""
    out = []
    for code, rule in WARNING_RULES:
        message = rule(client)
        if message is not None:
            out.append(RunbookWarning(code=code, message=message))
    return out
