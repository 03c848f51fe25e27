#!/usr/bin/env python3
"""Check a mail domain's MX, SPF and autodiscover records before and after the switch.

"before" reports today's records against the plan (MX TTL should be 3600 s or less, one SPF
record); "after" asserts that mail and clients now go to Office 365. Standalone: Python 3.8+
and dnspython (`pip install dnspython`); copy this one file anywhere.

    python3 dnsrecords.py --mode before \\
        --mx-target contoso-com.mail.protection.outlook.com contoso.com
    python3 dnsrecords.py --mode after --mx-target ... --nameserver 192.0.2.53 contoso.com
    python3 dnsrecords.py --mode before contoso.com   (MX target not copied yet)

Exit status: 0 when nothing failed, 1 when any check failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

try:
    import dns.exception
    import dns.message
    import dns.rdatatype
    import dns.resolver
except ImportError:  # main() and check_domain() say what to install
    HAVE_DNSPYTHON = False
else:
    HAVE_DNSPYTHON = True

MODES = ("before", "after")
# Office 365's records and the TTL to reach before the migration starts (DOMAIN §8).
SPF_INCLUDE = "include:spf.protection.outlook.com"
SPF_RECORD = "v=spf1 include:spf.protection.outlook.com -all"
AUTODISCOVER_TARGET = "autodiscover.outlook.com"
MX_TTL_MAX = 3600
# dnspython 1.16 gives up on a chain of 15 CNAMEs or more (2.x on 16, and says so).
CNAME_CHAIN_TOO_LONG = 15
# Where the planned MX comes from when --mx-target is not given (DOMAIN §11: never derived).
UNGIVEN_MX = "the MX value in the admin center's DNS records (no --mx-target given)"
_T = TypeVar("_T")
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)" + _LABEL + r"(?:\." + _LABEL + r")+\.?$")


@dataclass(frozen=True)
class Result:
    """One check outcome: status is "pass", "warn", "fail" or "skip"."""

    check: str
    target: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """Return the result as the JSON object the scripts print."""
        return asdict(self)


def _domain(text: str) -> str:
    """Return text as a lower-case domain name without the final dot, or raise ValueError."""
    if not _DOMAIN_RE.match(text):
        raise ValueError(f"not a valid domain name (it needs a dot): {text!r}")
    return text.rstrip(".").lower()


def _nameserver(text: str) -> str:
    """Return text as an IP address, or raise ValueError."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"the nameserver must be an IP address, not {text!r}") from None


def _port(text: str) -> int:
    """Return text as a UDP/TCP port number, or raise ValueError."""
    if not re.fullmatch("[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535, not {text!r}")
    return int(text)


def _printable(text: str, limit: int = 200) -> str:
    """Return text from DNS escaped and truncated so it is safe to print."""
    escaped = "".join(c if " " <= c < "\x7f" else f"\\x{ord(c):02x}" for c in text[:limit])
    return escaped + ("..." if len(text) > limit else "")


def _name(value: Any) -> str:
    """Return a DNS name as lower-case text without the final dot."""
    return str(value).rstrip(".").lower()


def _resolver(nameserver: str | None, port: int, timeout: float) -> Any:
    """Return a resolver for one server (or the system's), bounded by timeout per lookup."""
    resolver = dns.resolver.Resolver(configure=nameserver is None)
    # The port must be set before the nameservers: some dnspython versions bind it then.
    resolver.port = port
    resolver.nameservers = [nameserver] if nameserver else list(resolver.nameservers)
    resolver.timeout = timeout
    # The lifetime bounds a whole lookup, retries and a TCP fallback included.
    resolver.lifetime = timeout
    return resolver


def _cname_chain(response: Any, name: str) -> list[str]:
    """Return the names the CNAMEs in a response lead through from name, in order, up to the
    first name that comes back (then listed twice) or 64 CNAMEs."""
    targets = {
        _name(rrset.name): _name(rrset[0].target)
        for rrset in getattr(response, "answer", None) or []
        if rrset.rdtype == dns.rdatatype.CNAME and len(rrset)
    }
    chain = [name]
    while chain[-1] in targets and len(chain) <= 64:
        chain.append(targets[chain[-1]])
        if chain[-1] in chain[:-1]:
            break
    return chain


def _cname_trouble(responses: Sequence[Any], name: str, rdtype: str, sure: bool) -> str | None:
    """Say which CNAME loop or overlong chain a response shows for name, or None.

    sure: the resolver itself gave up on the chain (dnspython 2's ChainTooLong), so it is said
    even when no response shows which names are involved.
    """
    for response in responses:
        chain = _cname_chain(response, name)
        if chain[-1] in chain[:-1]:
            path = _printable(" -> ".join(chain))
            return f"CNAME loop: {path}; correct these CNAME records ({rdtype} {name})"
        if len(chain) - 1 >= CNAME_CHAIN_TOO_LONG:
            ends = _printable(f"from {chain[0]} to {chain[-1]}")
            return (
                f"CNAME chain too long: {len(chain) - 1} CNAMEs {ends}, more than a resolver "
                f"follows; shorten it ({rdtype} {name})"
            )
    if sure:
        return f"CNAME loop or chain too long; check the CNAME records ({rdtype} {name})"
    return None


def _lookup(resolver: Any, name: str, rdtype: str) -> tuple[str, Any]:
    """Return ("ok", answer), ("nxdomain", None), ("noanswer", None) or ("error", why)."""
    # dnspython 2 calls it resolve(); 1.16 (still packaged with older Linux) only has query().
    lookup = getattr(resolver, "resolve", None) or resolver.query
    try:
        return "ok", lookup(name + ".", rdtype)
    except dns.resolver.NXDOMAIN:
        return "nxdomain", None
    except dns.resolver.NoAnswer as exc:
        # dnspython 1.16 (no ChainTooLong) gives up on a CNAME loop or long chain this way, as
        # if there were no record; 2.x raises NoNameservers for it, below
        if hasattr(dns.message, "ChainTooLong"):
            return "noanswer", None
        trouble = _cname_trouble([exc.kwargs.get("response")], name, rdtype, False)
        return ("error", trouble) if trouble else ("noanswer", None)
    except dns.exception.Timeout:
        return (
            "error",
            f"no answer from DNS within {round(resolver.lifetime, 1):g} s ({rdtype} {name})",
        )
    except dns.resolver.NoNameservers as exc:
        # dnspython 2 gives up on a CNAME loop or long chain so (ChainTooLong, then no server
        # left): the records are wrong, not the server. Each error is (server, ..., why, answer).
        errors = [e for e in exc.kwargs.get("errors") or [] if isinstance(e, tuple)]
        too_long = getattr(dns.message, "ChainTooLong", ())
        sure = any(isinstance(item, too_long) for error in errors for item in error)
        trouble = _cname_trouble([error[-1] for error in errors], name, rdtype, sure)
        return "error", trouble or f"no DNS server answered {rdtype} {name} (SERVFAIL or refused)"
    except dns.exception.DNSException as exc:
        return "error", f"DNS error for {rdtype} {name}: {_printable(str(exc))}"
    except OSError as exc:
        return "error", f"cannot reach the DNS server: {exc.strerror or exc}"


def _check_mx(resolver: Any, domain: str, mx_target: str | None, mode: str) -> Result:
    """Before: report MX and its TTL against the plan. After: lowest MX is Office 365's.

    Without mx_target (not yet copied from the admin center; it is never derived) the TTL
    is still checked before the switch, and after it the MX is shown to compare by eye.
    """
    kind, answer = _lookup(resolver, domain, "MX")
    planned = f"0 {mx_target}" if mx_target else UNGIVEN_MX
    if kind == "nxdomain":
        return Result("mx", domain, "fail", "the domain does not exist (NXDOMAIN)")
    if kind == "error":
        return Result("mx", domain, "fail", answer)
    if kind == "noanswer":
        status = "warn" if mode == "before" else "fail"
        return Result("mx", domain, status, f"no MX record; planned: {planned}")
    records = sorted((int(r.preference), _name(r.exchange)) for r in answer)
    ttl = int(answer.rrset.ttl)
    shown = _printable(", ".join(f"{pref} {host}" for pref, host in records))
    lowest = records[0][0]
    primary = {host for pref, host in records if pref == lowest}
    if mode == "after":
        if mx_target is None:
            detail = f"MX {shown}: compare the lowest preference with {UNGIVEN_MX}"
            return Result("mx", domain, "warn", detail)
        if primary == {mx_target}:
            return Result("mx", domain, "pass", f"MX {shown}: mail goes to Office 365")
        return Result("mx", domain, "fail", f"MX {shown}: the lowest preference is not {mx_target}")
    detail = f"MX today: {shown} (TTL {ttl} s); planned: {planned}"
    if mx_target is not None and primary == {mx_target}:
        return Result("mx", domain, "pass", detail + "; already switched")
    if ttl > MX_TTL_MAX:
        # Senders keep the old MX for a TTL; lower it before the migration starts (DOMAIN §8).
        detail += f"; lower the TTL to {MX_TTL_MAX} s or less before the migration starts"
        return Result("mx", domain, "warn", detail)
    return Result("mx", domain, "pass", detail)


def _has_include(record: str) -> bool:
    """Return True when an SPF record includes Office 365's SPF."""
    return any(token.lower().lstrip("+") == SPF_INCLUDE for token in record.split())


def _check_spf(resolver: Any, domain: str, mode: str) -> Result:
    """Before: report SPF (one record only). After: it includes Office 365."""
    kind, answer = _lookup(resolver, domain, "TXT")
    if kind == "nxdomain":
        return Result("spf", domain, "fail", "the domain does not exist (NXDOMAIN)")
    if kind == "error":
        return Result("spf", domain, "fail", answer)
    texts = (
        []
        if kind == "noanswer"
        else [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    )
    records = sorted(t for t in texts if t.split()[:1] and t.split()[0].lower() == "v=spf1")
    shown = " | ".join(_printable(r) for r in records)
    if not records:
        if mode == "after":
            return Result("spf", domain, "fail", f"no SPF record: publish {SPF_RECORD}")
        return Result(
            "spf", domain, "pass", f"no SPF record today; at the switch publish {SPF_RECORD}"
        )
    if len(records) > 1:
        # Only one SPF record per domain; with more, receivers treat SPF as broken (DOMAIN §8).
        detail = f"{len(records)} SPF records, only one is allowed: merge them ({shown})"
        return Result("spf", domain, "warn" if mode == "before" else "fail", detail)
    if mode == "after":
        if _has_include(records[0]):
            return Result("spf", domain, "pass", f"SPF includes Office 365: {shown}")
        return Result("spf", domain, "fail", f"SPF lacks {SPF_INCLUDE}: {shown}")
    advice = (
        "already includes Office 365"
        if _has_include(records[0])
        else f"add {SPF_INCLUDE} at the switch"
    )
    return Result("spf", domain, "pass", f"SPF today: {shown}; {advice}")


def _check_autodiscover(resolver: Any, domain: str, mode: str) -> Result:
    """Before: report autodiscover. After: it is a CNAME to autodiscover.outlook.com."""
    name = f"autodiscover.{domain}"
    kind, answer = _lookup(resolver, name, "CNAME")
    if kind == "error":
        return Result("autodiscover", name, "fail", answer)
    wanted = f"CNAME {AUTODISCOVER_TARGET}"
    if kind == "ok":
        target = _name(answer[0].target)
        if target == AUTODISCOVER_TARGET:
            return Result("autodiscover", name, "pass", f"CNAME {target}")
        detail = f"CNAME {_printable(target)}, not {AUTODISCOVER_TARGET}"
        if mode == "after":
            return Result("autodiscover", name, "fail", detail)
        return Result(
            "autodiscover",
            name,
            "pass",
            f"CNAME {_printable(target)} today; at the switch: {wanted}",
        )
    today = "no record" if kind == "nxdomain" else "a record that is not a CNAME"
    if mode == "after":
        return Result("autodiscover", name, "fail", f"{today}; expected {wanted}")
    return Result("autodiscover", name, "pass", f"{today} today; at the switch: {wanted}")


def check_domain(
    domain: str,
    mx_target: str | None,
    mode: str,
    nameserver: str | None = None,
    port: int = 53,
    timeout: float = 5.0,
    deadline: float | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Check MX, SPF and autodiscover of one domain in mode "before" or "after" the switch.

    The three lookups run at once, each within timeout and never after deadline (a
    time.monotonic() value), so a silent or garbling server costs one timeout, not three.
    on_result, when given, gets each result in order as soon as it is known.
    """
    if not HAVE_DNSPYTHON:
        raise RuntimeError("dnsrecords needs dnspython: pip install dnspython")
    if mode not in MODES:
        raise ValueError(f"mode must be before or after, not {mode!r}")
    domain = _domain(domain)
    mx_target = None if mx_target is None else _domain(mx_target)
    if nameserver is not None:
        nameserver = _nameserver(nameserver)
    targets = (("mx", domain), ("spf", domain), ("autodiscover", f"autodiscover.{domain}"))
    limit = timeout if deadline is None else min(timeout, deadline - time.monotonic())
    if limit <= 0:
        detail = "skipped: the run's overall deadline passed first"
        return [Result(check, target, "skip", detail) for check, target in targets]
    try:
        resolvers = [_resolver(nameserver, port, limit) for _ in targets]
    except dns.exception.DNSException as exc:
        detail = f"no DNS resolver ({_printable(str(exc))}): give --nameserver"
        return [Result(check, target, "fail", detail) for check, target in targets]
    checks: list[Callable[[], Result]] = [
        lambda: _check_mx(resolvers[0], domain, mx_target, mode),
        lambda: _check_spf(resolvers[1], domain, mode),
        lambda: _check_autodiscover(resolvers[2], domain, mode),
    ]
    found: dict[int, Result] = {}

    def work(index: int) -> None:
        found[index] = checks[index]()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
    for worker in workers:
        worker.start()
    end = time.monotonic() + limit + 1.0  # each lookup ends by its lifetime; this is a guard
    results = []
    for index, worker in enumerate(workers):
        worker.join(max(0.0, end - time.monotonic()))
        check, target = targets[index]
        late = Result(check, target, "fail", "no answer from DNS before the deadline")
        results.append(found.get(index, late))
        if on_result is not None:
            on_result(results[-1])
    return results


def print_results(results: Sequence[Result], as_json: bool) -> None:
    """Print results as JSON ({"results": [...]}) or as one line each."""
    if as_json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        return
    for r in results:
        print(f"{r.status.upper():<4}  {r.check}  {r.target}  {r.detail}")


def exit_status(results: Sequence[Result]) -> int:
    """Return 1 when any result failed, else 0."""
    return 1 if any(r.status == "fail" for r in results) else 0


def _arg(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """Wrap a ValueError-raising parser for argparse (which then exits with status 2)."""

    def convert(text: str) -> _T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _timeout(text: str) -> float:
    """Parse a timeout in seconds (0 < t <= 300)."""
    value = float(text)
    if not math.isfinite(value) or not 0 < value <= 300:
        raise ValueError(f"timeout must be above 0 and at most 300 seconds, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Check MX, SPF and autodiscover records before or after the switch to "
        "Office 365.",
    )
    parser.add_argument("domain", type=_arg(_domain), help="mail domain, e.g. contoso.com")
    parser.add_argument("--mode", required=True, choices=MODES, help="before or after the switch")
    parser.add_argument(
        "--mx-target",
        type=_arg(_domain),
        help="planned MX host (Office 365's), copied from the admin center; without it the "
        "MX is shown but not compared",
    )
    parser.add_argument("--nameserver", type=_arg(_nameserver), help="ask this DNS server (IP)")
    parser.add_argument("--port", type=_arg(_port), default=53, help="its port (53)")
    parser.add_argument("--timeout", type=_arg(_timeout), default=5.0, help="seconds (5)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if not HAVE_DNSPYTHON:
        parser.error("dnspython is missing: pip install dnspython")

    def stream(result: Result) -> None:
        if not args.json:
            print_results([result], False)
            sys.stdout.flush()

    results = check_domain(
        args.domain,
        args.mx_target,
        args.mode,
        args.nameserver,
        args.port,
        args.timeout,
        on_result=stream,
    )
    if args.json:
        print_results(results, True)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
