"""`runbook check SLUG --rpc`: RPC over HTTP through the client's proxy with `checks/rpcping.py`.

The targets are the client's RPC proxy URLs (the first server on 6001, 6002 and 6004), or with
`--all-targets` every host and port that ValidPorts lists. The account defaults to the migration
endpoint's; its password comes from RUNBOOK_PASSWORD, a prompt without echo, or one line piped
to stdin (`rpcping.read_password`), and is held only for the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from checks import rpcping
from generator.check import DEADLINE_FACTOR, CheckResult
from generator.derive import Values
from generator.errors import UserError


def rpc_targets(values: Values, all_targets: bool = False) -> list[rpcping.Target]:
    """The URLs to ping: `rpc_proxy_urls`, or every ValidPorts host:port (DOMAIN §4)."""
    if not all_targets:
        return [rpcping.parse_target(url) for url in values.rpc_proxy_urls]
    targets: list[rpcping.Target] = []
    for entry in values.valid_ports_entries:
        host, _, ports = entry.rpartition(":")
        first, _, last = ports.partition("-")
        for port in range(int(first), int(last or first) + 1):
            target = rpcping.Target(values.public_fqdn, host, port)
            if target not in targets:
                targets.append(target)
    return targets


def run_rpc(
    values: Values,
    *,
    user: str | None,
    all_targets: bool,
    timeout: float,
    deadline: float | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    cafile: str | None = None,
    password: Callable[[str], str] = rpcping.read_password,
) -> list[CheckResult]:
    """One result per target, in the `check --json` shape."""
    account = user or values.migration_endpoint.account
    try:
        account = rpcping.parse_user(account)
    except ValueError as exc:
        raise UserError(f"--user: {exc}") from None
    try:
        secret = password(account)
    except EOFError as exc:
        raise UserError(f"--rpc: {exc}") from None
    method = values.connectivity_analyzer.authentication
    credentials = rpcping.Credentials(account, secret, method)
    # the same rule as the outside checks: the whole run within the deadline (3 timeouts)
    total = deadline if deadline is not None else DEADLINE_FACTOR * timeout
    results = rpcping.run(
        rpc_targets(values, all_targets), credentials, timeout, cafile, connect_to, total
    )
    return [CheckResult(r.check, r.target, r.status, r.detail) for r in results]
