"""Phase 2, groundwork on the RPC proxy server: what RPC over HTTP needs there."""

from __future__ import annotations

from generator.derive import Values
from generator.procedure import (
    Block,
    Checklist,
    Code,
    Commands,
    Free,
    Para,
    Ref,
    Step,
    Strong,
    join_codes,
    t,
)
from generator.steps.common import _cmd, _proxy, _until_text

# --- groundwork on the RPC proxy server ---------------------------------------------------


def certificate(v: Values) -> Step:
    """The certificate on the public name (DOMAIN.md 6); on the device in front of IIS 6 when
    one terminates TLS there (DOMAIN.md 13)."""
    body: list[Block] = []
    if v.tls_front:
        body.append(
            Para(
                t(
                    "This client records ",
                    Free(v.tls_front),
                    " in front of IIS 6: the certificate it presents on ",
                    Code(v.public_fqdn),
                    " is the one the migration service sees, so the first two items apply "
                    "to that device's certificate as well; the gate from outside (",
                    Ref("gate-outside"),
                    ") reads it.",
                )
            )
        )
    return Step(
        id="certificate",
        title="The certificate",
        where=t(
            *_proxy(v),
            ": IIS Manager, Web Sites, Default Web Site, Properties, "
            "Directory Security, View Certificate",
            *((", and the settings of ", Free(v.tls_front)) if v.tls_front else ()),
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
            *body,
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
                # Server 2003's reg.exe separates name, type and data with tabs, later
                # versions with spaces (DOMAIN.md 4): the parts are named, not the spacing
                t(
                    "If it does not show the type ",
                    Code("REG_DWORD"),
                    " with the data ",
                    Code("0x1"),
                    ", set it and restart IIS, which reads it at start:",
                ),
            ),
        ),
        expected=t(
            Code("Enabled"),
            ", of type ",
            Code("REG_DWORD"),
            ", with the data ",
            Code("0x1"),
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
            Para(t("Write down each server's mark before changing it: a rollback sets it back."))
        )
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
                    "Settings here or the registry, never both: the next steps read "
                    "ValidPorts and compare it."
                )
            )
        )
    else:
        body.append(
            Para(t("Write down the front-end's mark before changing it: a rollback sets it back."))
        )
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
            "These settings decide whether Exchange writes ValidPorts or it is kept by hand; "
            "mixing both loses edits."
        ),
        body=tuple(body),
        # the rollback sets back the marks this step changes (Rolling back)
        blanks=_marks_blanks(v, front),
    )


def _marks_blanks(v: Values, front: str | None) -> tuple[str, ...]:
    """Where the marks this step changes are written down: every server's in a managed
    topology, the front-end's alone before SP1 (only it is changed, to "Not part of")."""
    if v.registry.managed_by_esm:
        return ("Marks before the change, each server",)
    if front is not None:
        return (f"Mark of {front} before the change",)
    return ()
