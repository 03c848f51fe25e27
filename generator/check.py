"""Run the bundled check scripts with a client's values: `runbook check` and
`runbook verify-validports`.

The scripts in `checks/` are standalone; this module imports them so the command line runs the
very code a consultant copies to a laptop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from checks import dnsrecords, ports, rpcproxy, validports
from generator.derive import Values
from generator.errors import UserError

Route = Mapping[tuple[str, int], tuple[str, int]]
MAX_REG_FILE = 1024 * 1024


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
    """`IP` or `IP:PORT` of the DNS server to ask."""
    host, _, port = spec.rpartition(":") if spec.count(":") == 1 else (spec, "", "53")
    try:
        number = int(port)
    except ValueError:
        raise UserError(f"--nameserver {spec!r}: the port must be a number") from None
    if not 0 < number < 65536:
        raise UserError(f"--nameserver {spec!r}: the port must be 1-65535")
    return host, number


def run_outside(
    values: Values,
    *,
    timeout: float,
    connect_to: Route | None = None,
    cafile: str | None = None,
    dns_mode: str | None = None,
    nameserver: tuple[str, int] | None = None,
) -> list[CheckResult]:
    """Ports on the public name, then the RPC proxy (TLS, 401), then DNS when asked."""
    targets = [(t.host, t.port) for t in values.ports.outside]
    found: list[CheckResult] = [
        CheckResult(r.check, r.target, r.status, r.detail)
        for r in ports.check_ports(targets, timeout=timeout, connect_to=connect_to)
    ]
    found += [
        CheckResult(r.check, r.target, r.status, r.detail)
        for r in rpcproxy.run(
            values.public_fqdn,
            values.exchange_server,
            values.topology.rpc_ports,
            values.connectivity_analyzer.authentication,
            timeout=timeout,
            cafile=cafile,
            connect_to=connect_to,
        )
    ]
    if dns_mode:
        server, port = nameserver or (None, 53)
        for record in values.dns:
            if record.mx_target is None:
                found.append(
                    CheckResult(
                        "mx",
                        record.domain,
                        "skip",
                        "no MX target recorded: copy it from the admin center into the client "
                        "file to check the records",
                    )
                )
                continue
            found += [
                CheckResult(r.check, r.target, r.status, r.detail)
                for r in dnsrecords.check_domain(
                    record.domain, record.mx_target, dns_mode, server, port, timeout
                )
            ]
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
