"""`python -m tests.resolver H:P:H2:P2 ... -- ARGS`: `runbook ARGS` with a resolver that answers
H:P with the address of H2:P2, as a hosts file pointing the public name at a server would.

`runbook check --save` refuses `--connect-to` (the evidence is for the public name, not for
another address), so the tests of saved evidence reach their loopback servers through here:
the checks look the public name up as on a consultant's laptop and connect, over real sockets,
to the address the lookup answered.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from checks.ports import parse_connect_to

_real_getaddrinfo = socket.getaddrinfo


def answer(routes: dict[tuple[str, int], tuple[str, int]]) -> None:
    """Make every lookup of a routed host:port answer with its address (names caselessly)."""

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and str(port).isdigit():
            routed = routes.get((host.lower(), int(port)))
            if routed is not None:
                return _real_getaddrinfo(*routed, *args, **kwargs)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def main(argv: list[str]) -> None:
    """Install the routes before `--`, then run the command line with the rest."""
    if "--" not in argv:
        raise SystemExit("usage: python -m tests.resolver H:P:H2:P2 ... -- ARGS")
    cut = argv.index("--")
    routes = {}
    for spec in argv[:cut]:
        (host, port), actual = parse_connect_to(spec)
        routes[(host.lower(), port)] = actual
    answer(routes)
    from generator.cli import main as runbook

    sys.argv = ["runbook", *argv[cut + 1 :]]
    runbook()


if __name__ == "__main__":
    main(sys.argv[1:])
