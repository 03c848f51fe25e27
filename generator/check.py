"""Run the bundled check scripts with a client's values: `runbook check` and
`runbook verify-validports`.

The scripts in `checks/` are standalone; this module imports them so the command line runs the
very code a consultant copies to a laptop.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from checks import ports, validports
from generator.derive import Values
from generator.errors import UserError

Route = Mapping[tuple[str, int], tuple[str, int]]
MAX_REG_FILE = 1024 * 1024
# Without --deadline, a whole check run may take this many times the per-step --timeout.
DEADLINE_FACTOR = 3
_BRACKETED_RE = re.compile(r"\[(?P<host>[^\]]*)\](?::(?P<port>[^:]*))?")


@dataclass(frozen=True)
class CheckResult:
    """One result, whichever script produced it."""

    check: str
    target: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form of DESIGN.md: check, target, status, detail."""
        return {
            "check": self.check,
            "target": self.target,
            "status": self.status,
            "detail": self.detail,
        }


def parse_connect_to(specs: tuple[str, ...]) -> dict[tuple[str, int], tuple[str, int]]:
    """`H:P:H2:P2` options as a mapping, like curl's --connect-to."""
    routes: dict[tuple[str, int], tuple[str, int]] = {}
    for spec in specs:
        try:
            source, target = ports.parse_connect_to(spec)
        except ValueError as exc:
            raise UserError(f"--connect-to {spec!r}: {exc}") from None
        routes[source] = target
    return routes


def parse_nameserver(spec: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, a bare IPv6 address or `[IPv6]:PORT` of the DNS server to ask."""
    text = spec.strip()
    bracketed = _BRACKETED_RE.fullmatch(text)
    if bracketed:
        host, port = bracketed.group("host"), bracketed.group("port") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, "53"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UserError(
            f"--nameserver {spec!r}: not an IP address (give IP, IP:PORT or [IPv6]:PORT)"
        ) from None
    if not re.fullmatch("[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise UserError(f"--nameserver {spec!r}: the port must be a number from 1 to 65535")
    return str(address), int(port)


def checked_targets(values: Values, dns_mode: str | None = None) -> list[str]:
    """Every target an outside check run names for this client, in the order it runs them."""
    targets = [ports.label(t.host, t.port) for t in values.ports.outside]
    targets.append(f"{values.public_fqdn}:443")
    targets += [
        f"https://{values.public_fqdn}/rpc/rpcproxy.dll?{values.exchange_server}:{port}"
        for port in values.topology.rpc_ports
    ]
    if dns_mode:
        for record in values.dns:
            targets += [record.domain, f"autodiscover.{record.domain}"]
    return list(dict.fromkeys(targets))


def run_outside(
    values: Values,
    *,
    timeout: float,
    deadline: float | None = None,
    connect_to: Route | None = None,
    cafile: str | None = None,
    dns_mode: str | None = None,
    nameserver: tuple[str, int] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Ports on the public name, then the RPC proxy (TLS, versions, 401), then DNS when asked.

    `timeout` bounds each step, `deadline` (seconds; DEADLINE_FACTOR × timeout when not given)
    the whole run. `on_result` gets each result as soon as it is known, in the order printed.
    """
    # here, not at the top: pages and `runbook values` need this module's targets, not
    # dnspython or ssl
    from checks import dnsrecords, rpcproxy

    end = time.monotonic() + (deadline if deadline is not None else DEADLINE_FACTOR * timeout)
    found: list[CheckResult] = []

    def report(result: ports.Result | rpcproxy.Result | dnsrecords.Result) -> None:
        found.append(CheckResult(result.check, result.target, result.status, result.detail))
        if on_result is not None:
            on_result(found[-1])

    targets = [(t.host, t.port) for t in values.ports.outside]
    ports.check_ports(
        targets, timeout=timeout, connect_to=connect_to, deadline=end, on_result=report
    )
    rpcproxy.run(
        values.public_fqdn,
        values.exchange_server,
        values.topology.rpc_ports,
        values.connectivity_analyzer.authentication,
        timeout=timeout,
        cafile=cafile,
        connect_to=connect_to,
        deadline=end,
        on_result=report,
        # the day the certificate steps name: switch + 72 hours + margin (DOMAIN.md 6)
        valid_until=values.certificate_valid_until,
    )
    if dns_mode:
        server, port = nameserver or (None, 53)
        by_domain: dict[int, list[dnsrecords.Result]] = {}

        def lookup(index: int, domain: str, mx_target: str | None) -> None:
            by_domain[index] = dnsrecords.check_domain(
                domain, mx_target, dns_mode, server, port, timeout, deadline=end
            )

        # Every domain at once: each lookup ends by its own timeout and the run's deadline.
        workers = {
            i: threading.Thread(target=lookup, args=(i, r.domain, r.mx_target), daemon=True)
            for i, r in enumerate(values.dns)
        }
        for thread in workers.values():
            thread.start()
        for index, record in enumerate(values.dns):
            domain = record.domain
            # without a recorded MX target (never derived, DOMAIN.md 11) the script still
            # checks the TTL, SPF and Autodiscover, and shows the MX to compare
            workers[index].join(max(0.0, end - time.monotonic()) + 1.0)
            late = [
                dnsrecords.Result(check, target, "fail", "no answer from DNS before the deadline")
                for check, target in (
                    ("mx", domain),
                    ("spf", domain),
                    ("autodiscover", f"autodiscover.{domain}"),
                )
            ]
            for result in by_domain.get(index, late):
                report(result)
    return found


def verify_validports(values: Values, path: Path) -> list[CheckResult]:
    """Compare a saved `reg query` output or `.reg` export with the expected ValidPorts."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REG_FILE + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file: {exc.strerror}") from None
    try:
        results = validports.verify(values.valid_ports, data)
    except validports.ValidPortsError as exc:
        raise UserError(f"{path}: {exc}") from None
    return [CheckResult(r.check, r.target, r.status, r.detail) for r in results]


def failed(results: list[CheckResult]) -> bool:
    """Whether any result is a fail (exit status 1)."""
    return any(r.status == "fail" for r in results)
