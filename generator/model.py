"""Stage "model": the client file as pydantic models, and every problem in it at once.

The models are the contract of `runbooks/<slug>.yml` (DESIGN.md); the JSON Schema that editors
use is generated from them. Every value that ends up inside a command line is validated here,
so nothing typed into a client file can break out of a `reg`, `telnet` or PowerShell line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from generator.errors import ClientFileError, Problem, UserError
from generator.load import Document, Path_, dotted, load_document, trap_kind
from generator.placeholders import find_placeholder

SCHEMA_FILE = "client.schema.json"
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_FQDN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")
_NETBIOS = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}$")
_EMAIL_LOCAL = re.compile(r"^(?![.-])[A-Za-z0-9._%+-]{1,64}(?<!\.)$")
_ACCOUNT = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}\\(?![.-])[A-Za-z0-9._-]{1,20}(?<!\.)$")
NAME_MAX = 64  # the longest batch (and endpoint) name this tool writes for Exchange Online
_BATCH = re.compile(rf"^(?!-)[A-Za-z0-9_-]{{1,{NAME_MAX}}}$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# These patterns are also the JSON Schema's, so they end in `$`; Python's `$` also matches
# before a final line break ("name\n"), so they are used with fullmatch, never match.
# Characters that end or chain a command in cmd.exe, PowerShell or a POSIX shell.
_BREAKOUT = re.compile(r"[\s;&|\"'`$<>(){}\[\]\\^%!*?,]")
MX_SUFFIXES = (".mail.protection.outlook.com", ".mx.microsoft")
# Names that exist only inside a network: never a mail domain or a name the internet reaches.
# (Server FQDNs may use them: they are Active Directory names.)
INTERNAL_SUFFIXES = (
    "local", "lan", "internal", "corp", "home.arpa", "localdomain", "localhost", "intranet",
    "private", "home", "test", "invalid",
)  # fmt: skip
# Characters that reorder or hide text (Trojan Source): the PDF would show "evil" as "live".
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _ci(text: str) -> str:
    """`text` as a case-insensitive pattern without flags (JSON Schema patterns have none)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text)


# The same rules as patterns for the JSON Schema, so editors flag what `validate` flags.
_LAST_LABEL = r"(?![0-9]+$)" + _LABEL
FQDN_PATTERN = rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LAST_LABEL}"
_NOT_INTERNAL = r"(?!(?:.*\.)?(?:" + "|".join(_ci(s) for s in INTERNAL_SUFFIXES) + r")$)"
PUBLIC_FQDN_PATTERN = _NOT_INTERNAL + FQDN_PATTERN
_EMAIL_LOCAL_PATTERN = r"(?![.-])[A-Za-z0-9._%+-]{1,64}(?<!\.)"
EMAIL_PATTERN = rf"^{_EMAIL_LOCAL_PATTERN}@{PUBLIC_FQDN_PATTERN}$"
_MX_ENDS = r"(?=.*(?:" + "|".join(_ci(s) for s in MX_SUFFIXES) + r")$)"
DATE_PATTERN = r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
_BIDI_CLASS = "".join(f"\\u{ord(c):04x}" for c in BIDI)
LINE_PATTERN = rf"^(?=.*\S)[^\u0000-\u001f\u007f{_BIDI_CLASS}]*$"
NOTES_PATTERN = rf"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f{_BIDI_CLASS}]*$"


def _schema(pattern: str, **more: Any) -> WithJsonSchema:
    """The JSON Schema of a text value: its pattern and any other keywords."""
    return WithJsonSchema({"type": "string", "pattern": pattern, **more})


def _breakout_reason(value: str) -> str | None:
    """Why `value` could break out of a command line, or None."""
    found = _BREAKOUT.search(value)
    if not found:
        return None
    char = found.group()
    names = {" ": "a space", "\t": "a tab", "\n": "a line break", "\\": "a backslash"}
    shown = names.get(char, repr(char))
    return f"{shown} is not allowed here: it could break the command line this value goes into"


# True while a draft is validated: its scaffold markers and placeholders are tolerated.
_DRAFT: ContextVar[bool] = ContextVar("draft", default=False)
# The client's own mail domain while its file is validated: examples of host names end in it.
_OWN_DOMAIN: ContextVar[str | None] = ContextVar("own_domain", default=None)


@contextmanager
def drafting(draft: bool = True) -> Iterator[None]:
    """Validate (and derive) with a draft's markers and placeholders tolerated."""
    token = _DRAFT.set(draft)
    try:
        yield
    finally:
        _DRAFT.reset(token)


def _no_placeholder(value: str) -> str:
    """Refuse stand-in text such as TODO or example.com: the runbook must be the real thing."""
    found = None if _DRAFT.get() else find_placeholder(value)
    if found:
        raise ValueError(f"{found!r} looks like a placeholder; write this client's real value")
    return value


def _host(value: str, *, what: str) -> str:
    reason = _breakout_reason(value)
    if reason:
        raise ValueError(reason)
    _no_placeholder(value)
    if value.endswith("."):
        raise ValueError(f"write the {what} without the trailing dot")
    return value


def check_fqdn(value: str) -> str:
    """A fully qualified DNS name: labels of letters, digits and inner dashes, with a dot."""
    _host(value, what="name")
    if "." not in value:
        raise ValueError(f"{value!r} is not fully qualified: it needs a dot, e.g. {value}.local")
    if not _FQDN.fullmatch(value) or value.rsplit(".", 1)[1].isdigit():
        which = _odd_character(value, ".-")
        raise ValueError(
            f"{value!r} is not a valid DNS name{which}: use letters, digits and dashes between dots"
        )
    return value


def _odd_character(value: str, allowed: str, expected: str = "a letter a-z") -> str:
    """` ('“' is LEFT DOUBLE QUOTATION MARK, not a letter a-z)` for the first character of
    `value` that is neither an ASCII letter or digit nor in `allowed`; empty when there is none.
    A pasted smart quote or dash looks like the real one in an editor."""
    odd = next((c for c in value if not (c.isascii() and (c.isalnum() or c in allowed))), None)
    if odd is None:
        return ""
    return f" ({odd!r} is {unicodedata.name(odd, f'U+{ord(odd):04X}')}, not {expected})"


def _as_typed(value: str) -> str:
    """`value` quoted as it is in the file: repr alone doubles the backslash of DOMAIN\\user."""
    return repr(value).replace("\\\\", "\\")


def _internal_suffix(value: str) -> str | None:
    """The internal-only suffix `value` ends in (`.local`, `.lan`, ...), or None."""
    lower = value.lower()
    for suffix in INTERNAL_SUFFIXES:
        if lower == suffix or lower.endswith(f".{suffix}"):
            return f".{suffix}"
    return None


def _public_name(value: str, example: str) -> None:
    """A single label is never a public name: say so before the generic FQDN rule does."""
    if "." not in value and not _breakout_reason(value):
        raise ValueError(
            f"{value!r} is a single label, a name that exists only inside a network: give the "
            f"full public name, e.g. {example}"
        )
    check_fqdn(value)


def _own_domain(data: Any) -> str | None:
    """The first mail domain of raw client data when it is a valid public name, else None."""
    domains = data.get("domains") if isinstance(data, dict) else None
    first = domains[0] if isinstance(domains, list) and domains else None
    name = first.get("name") if isinstance(first, dict) else None
    if isinstance(name, str) and re.fullmatch(PUBLIC_FQDN_PATTERN, name):
        return name.lower()
    return None


def _reachable(value: str, why: str, example: str | None = None) -> str:
    """A public name: refused with `why` (what the internet does with it) when it ends in an
    internal-only suffix. `example` completes a single label (default: `value`.com)."""
    _public_name(value, example or f"{value}.com")
    suffix = _internal_suffix(value)
    if suffix:
        raise ValueError(
            f"{value!r} ends in {suffix}, a name that exists only inside a network: {why}"
        )
    return value


def check_public_fqdn(value: str) -> str:
    """A name the internet reaches: an FQDN that does not end in an internal-only suffix."""
    # a host in the client's own domain (or contoso.com), never a stranger's `mail.com`
    return _reachable(
        value,
        "Office 365 reaches this name from the internet; give the public name (the one on the "
        "certificate)",
        f"{value}.{_OWN_DOMAIN.get() or 'contoso.com'}",
    )


def check_mail_domain(value: str) -> str:
    """A mail domain the internet can deliver to: no internal-only suffix (the SBS mistake)."""
    return _reachable(
        value,
        "mail from the internet cannot be delivered to it; give the public mail domain (what "
        "follows @ in the users' public addresses), not the Active Directory name",
    )


def check_netbios(value: str) -> str:
    """A NetBIOS computer name: 1-15 letters, digits and dashes, not starting with a dash."""
    _host(value, what="name")
    if not _NETBIOS.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a NetBIOS name: 1 to 15 letters, digits or dashes, "
            "not starting with a dash (the short name, not the FQDN)"
        )
    return value


def check_certificate_name(value: str) -> str:
    """The certificate's name: a public FQDN, or a wildcard `*.` followed by one."""
    check_public_fqdn(value[2:] if value.startswith("*.") else value)
    return value


def check_email(value: str) -> str:
    """A plain e-mail address whose parts cannot break out of a command line."""
    reason = _breakout_reason(value)
    if reason:
        raise ValueError(reason)
    _no_placeholder(value)
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise ValueError(f"{value!r} is not an e-mail address")
    if not _EMAIL_LOCAL.fullmatch(local):
        raise ValueError(
            f"{value!r}: the part before @ cannot start with {local[0]!r}"
            if local[0] in ".-"
            else f"{value!r}: the part before @ cannot end with a dot"
            if local.endswith(".")
            else f"{value!r}: the part before @ may hold letters, digits and . _ + - only"
        )
    # check_fqdn's example for these would be a .local name, which is refused below
    if not domain:
        raise ValueError(f"{value!r}: the domain part is not valid (nothing follows @)")
    if re.fullmatch(_LABEL, domain):
        raise ValueError(
            f"{value!r}: the domain part {domain!r} is a single label, a name that exists only "
            f"inside a network: give the full domain, e.g. {domain}.com"
        )
    try:
        check_fqdn(domain)
    except ValueError as exc:
        raise ValueError(f"{value!r}: the domain part is not valid ({exc})") from None
    suffix = _internal_suffix(domain)
    if suffix:
        raise ValueError(
            f"{value!r}: the domain part ends in {suffix}, which exists only inside a network: "
            "Office 365 cannot deliver to it; give the address people receive mail at"
        )
    return value


def check_account(value: str) -> str:
    """`DOMAIN\\user`: a NetBIOS domain name, a backslash, a pre-Windows 2000 user name."""
    backslashes = value.count("\\")
    if backslashes > 1:
        raise ValueError(
            f"{_as_typed(value)} has {backslashes} backslashes: write one between the domain "
            "and the user, e.g. CONTOSO\\migadmin"
        )
    reason = _breakout_reason(value.replace("\\", "", 1))
    if reason:
        raise ValueError(reason)
    if "\\" not in value:
        raise ValueError(
            f"{_as_typed(value)} must be written DOMAIN\\user (the pre-Windows 2000 logon "
            "name), e.g. CONTOSO\\migadmin"
        )
    if not _ACCOUNT.fullmatch(value):
        odd = _odd_character(value, "._-\\")
        raise ValueError(
            f"{_as_typed(value)} must be DOMAIN\\user{odd}: "
            "a domain of 1-15 letters, digits or dashes and a user name of 1-20 letters, "
            "digits, dots, dashes or underscores"
        )
    return value


def check_mx_target(value: str) -> str:
    """An Exchange Online MX host: `<token>.mail.protection.outlook.com` or `.mx.microsoft`."""
    check_fqdn(value)
    if not value.lower().endswith(MX_SUFFIXES):
        raise ValueError(
            f"{value!r} is not an Exchange Online MX host: copy the value from the admin "
            "center; it ends in .mail.protection.outlook.com or, for a domain added since July "
            "2026, .mx.microsoft"
        )
    return value


def check_batch_name(value: str) -> str:
    """A migration batch name: no spaces or special characters (DOMAIN.md section 7)."""
    if value.startswith("-"):
        raise ValueError(
            f"{value!r} starts with '-': PowerShell would read it as a parameter "
            "(Remove-MigrationBatch -Identity -WhatIf); start with a letter or digit"
        )
    if not _BATCH.fullmatch(value):
        raise ValueError(
            f"{value!r}: a batch name may hold only letters, digits, '-' and '_' "
            f"(at most {NAME_MAX})"
        )
    return value


def _hidden_character(value: str, allowed: str = "") -> str | None:
    """The first control or bidirectional-override character in `value`, named, or None."""
    for c in value:
        if c in BIDI:
            return f"U+{ord(c):04X}, a character that reorders the text around it when shown"
        if (ord(c) < 32 or ord(c) == 127) and c not in allowed:
            return f"U+{ord(c):04X}, a control character"
    return None


def check_line(value: str) -> str:
    """Free text on one line, with no control or text-reordering characters."""
    if not value.strip():
        raise ValueError("is empty")
    hidden = _hidden_character(value)
    if hidden:
        raise ValueError(f"holds {hidden}: write it as a single line of plain text")
    return _no_placeholder(value.strip())


def check_notes(value: str) -> str:
    """Free Markdown text: tabs and line breaks allowed, other control and text-reordering
    characters refused. Prose may say TBD: the placeholder rule guards values, not notes."""
    hidden = _hidden_character(value, allowed="\t\n\r")
    if hidden:
        raise ValueError(f"holds {hidden}; remove it")
    return value


def check_window(value: dt.date | None) -> dt.date | None:
    """A cutover date this century: anything else is a typo (and would overflow the schedule)."""
    if value is not None and not dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
        raise ValueError(f"{value} is not a plausible cutover date (2000 to 2100)")
    return value


def _iso_date(value: Any) -> Any:
    """Accept a quoted ISO date as well as YAML's unquoted one."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a real date") from None
    return value


Fqdn = Annotated[str, AfterValidator(check_fqdn), _schema(f"^{FQDN_PATTERN}$")]
PublicFqdn = Annotated[str, AfterValidator(check_public_fqdn), _schema(f"^{PUBLIC_FQDN_PATTERN}$")]
MailDomain = Annotated[str, AfterValidator(check_mail_domain), _schema(f"^{PUBLIC_FQDN_PATTERN}$")]
NetbiosName = Annotated[str, AfterValidator(check_netbios), _schema(_NETBIOS.pattern)]
Email = Annotated[str, AfterValidator(check_email), _schema(EMAIL_PATTERN)]
Line = Annotated[
    str,
    Field(max_length=200),
    AfterValidator(check_line),
    _schema(LINE_PATTERN, maxLength=200),
]
CertificateName = Annotated[
    str,
    AfterValidator(check_certificate_name),
    _schema(rf"^(?:\*\.)?{PUBLIC_FQDN_PATTERN}$"),
]
Account = Annotated[str, AfterValidator(check_account), _schema(_ACCOUNT.pattern)]
BatchName = Annotated[str, AfterValidator(check_batch_name), _schema(_BATCH.pattern)]
MxTarget = Annotated[str, AfterValidator(check_mx_target), _schema(f"^{_MX_ENDS}{FQDN_PATTERN}$")]
Notes = Annotated[
    str,
    Field(max_length=20_000),
    AfterValidator(check_notes),
    _schema(NOTES_PATTERN, maxLength=20_000),
]


def _whole_number(value: Any) -> Any:
    """A choice of whole numbers as strict as the int fields and the JSON schema (integer):
    pydantic matches a Literal's choices by equality even in strict mode, so `2.0` and `true`
    (equal to 1) passed as a service pack."""
    if isinstance(value, bool) or isinstance(value, float) and value.is_integer():
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


ServicePack = Annotated[Literal[0, 1, 2], BeforeValidator(_whole_number)]
# 365 is Microsoft 365 Apps (the subscription's Outlook), which has no year.
OutlookVersion = Annotated[
    Literal[2000, 2002, 2003, 2007, 2010, 2013, 2016, 2019, 2021, 2024, 365],
    BeforeValidator(_whole_number),
]


class StrictModel(BaseModel):
    """Strict types, unknown keys are errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Server(StrictModel):
    """An Exchange 2003 back-end (mailbox) server."""

    name: NetbiosName = Field(description="NetBIOS name of the server, e.g. EXCH01.")
    fqdn: Fqdn = Field(description="Active Directory FQDN, e.g. exch01.contoso.local.")
    global_catalog: bool = Field(
        False,
        description="True when this server is also a global catalog (single server, SBS): "
        "the runbook then adds the NSPI registry value and a reboot.",
    )


class Host(StrictModel):
    """A Windows host named by its NetBIOS name and FQDN."""

    name: NetbiosName = Field(description="NetBIOS name, e.g. FE01 or DC01.")
    fqdn: Fqdn = Field(description="Active Directory FQDN, e.g. dc01.contoso.local.")


class Exchange(StrictModel):
    """The on-premises Exchange 2003 organisation."""

    service_pack: ServicePack = Field(2, description="Exchange 2003 service pack level: 0, 1 or 2.")
    servers: list[Server] = Field(
        min_length=1,
        description="Exchange servers holding mailboxes; the first is the one the migration "
        "endpoint and the Connectivity Analyzer name.",
    )
    global_catalogs: list[Host] = Field(
        default_factory=list,
        description="Global catalog servers; only used without a service pack "
        "(service_pack: 0), when ValidPorts must list them with port 6004.",
    )


class RpcProxy(StrictModel):
    """The RPC over HTTP proxy that Office 365 reaches on TCP 443."""

    public_fqdn: PublicFqdn = Field(
        description="Public name Office 365 connects to on 443; the name on the certificate."
    )
    certificate_name: CertificateName | None = Field(
        None,
        description="Name on the certificate when it differs from public_fqdn (used for the "
        "msstd: mutual-authentication principal). Default: public_fqdn.",
    )
    front_end: Host | None = Field(
        None,
        description="A separate front-end server that runs the RPC proxy; leave out when the "
        "proxy runs on the mailbox server itself.",
    )
    authentication: Literal["basic", "ntlm"] = Field(
        "basic", description="Authentication the proxy's /rpc directory accepts: basic or ntlm."
    )
    expose_rpc_ports: bool = Field(
        False,
        description="True only where ports 6001-6002 and 6004 are published on the firewall; "
        "the runbook then tests them from outside and closes them afterwards.",
    )
    tls_front: Line | None = Field(
        None,
        description="What offers TLS 1.2 on the public name in front of IIS 6 (a firewall or "
        "reverse proxy terminating TLS), e.g. 'SonicWall TZ370 SSL offload'. Without it the "
        "runbook warns that IIS 6 offers TLS 1.0 at most.",
    )


class Office365(StrictModel):
    """The Office 365 tenant and the migration endpoint's account."""

    admin: Email = Field(description="Tenant administrator, e.g. admin@contoso.onmicrosoft.com.")
    migration_account: Account = Field(
        description="On-premises account the migration uses, written DOMAIN\\user; its password "
        "is typed on site and never stored."
    )
    test_mailbox: Email | None = Field(
        None,
        description="An on-premises mailbox, not hidden from address lists, for the endpoint's "
        "e-mail address field.",
    )
    mailbox_permission: Literal["full_access", "admin"] = Field(
        "full_access",
        description="How the migration account reaches the mailboxes: full_access (FullAccess "
        "or Receive As granted) or admin (Domain Admins).",
    )
    notification_emails: list[Email] | None = Field(
        None,
        min_length=1,
        description="Who receives the batch reports (they may carry first passwords). An "
        "address in a domain being migrated is left out: its new cloud mailbox is not watched. "
        "Default: the admin.",
    )
    batch_name: BatchName | None = Field(
        None,
        description="Migration batch name: letters, digits, '-' and '_', not starting with '-'. "
        "Default: the slug, then -cutover.",
    )
    concurrent_mailboxes: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Maximum concurrent migrations, 1-100. Default: 1 below 10 Mbit/s upstream, "
        "else upstream/5 up to 20, and 3 when the bandwidth is unknown.",
    )


class Domain(StrictModel):
    """A mail domain whose MX moves to Exchange Online."""

    name: MailDomain = Field(
        description="The public mail domain, e.g. contoso.com (never an internal name such as "
        "contoso.local)."
    )
    mx_target: MxTarget | None = Field(
        None,
        description="MX host copied from the admin center (Settings, Domains, the domain, DNS "
        "records), e.g. contoso-com.mail.protection.outlook.com or a name under mx.microsoft. "
        "Never derived: without it the runbook leaves a blank to copy it into.",
    )
    mx_ttl: int | None = Field(
        None,
        ge=0,
        le=2_147_483_647,
        description="The MX record's TTL today, in seconds. Without it the runbook says how to "
        "look it up and plans two days for the lowered TTL to take hold.",
    )


class Network(StrictModel):
    """The client's internet connection."""

    upstream_mbps: float = Field(
        ge=0.1, le=100_000, allow_inf_nan=False, description="Upload bandwidth in Mbit/s."
    )


class Mailboxes(StrictModel):
    """How much there is to migrate."""

    count: int | None = Field(
        None, ge=0, le=2000, description="Number of mailboxes; a cutover takes at most 2,000."
    )
    total_gb: float | None = Field(
        None, ge=0, le=100_000, allow_inf_nan=False, description="Total mailbox size in GB."
    )


class Client(StrictModel):
    """One client's environment: everything the runbook is derived from."""

    model_config = ConfigDict(title="Cutover runbook client file")

    client: Line = Field(description="The client's display name.")
    consultant: Line | None = Field(None, description="Who runs the migration (handout cover).")
    window: Annotated[
        dt.date | None,
        BeforeValidator(_iso_date),
        AfterValidator(check_window),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(None, description="Planned cutover date (the MX switch), YYYY-MM-DD.")
    draft: bool = Field(
        False,
        description="True while the file is being written: it is validated (with the markers "
        "runbook new writes) but not published: no page, handout or bundle.",
    )
    exchange: Exchange = Field(description="The Exchange 2003 servers.")
    rpc_proxy: RpcProxy = Field(description="The RPC over HTTP proxy reached from the internet.")
    office365: Office365 = Field(description="The Office 365 side.")
    domains: list[Domain] = Field(min_length=1, description="Mail domains to move.")
    network: Network | None = Field(None, description="The client's internet connection.")
    mailboxes: Mailboxes | None = Field(None, description="Mailbox count and size.")
    outlook_versions: list[OutlookVersion] = Field(
        default_factory=list,
        description="Outlook versions in use, e.g. [2010, 2016]; 365 is Microsoft 365 Apps.",
    )
    notes: Notes | None = Field(
        None, description="Free notes in Markdown; raw HTML is shown as text."
    )

    @model_validator(mode="after")
    def _unique_hosts(self) -> Client:
        """A host listed twice would give a ValidPorts with repeated entries."""
        seen: dict[str, str] = {}
        hosts: list[tuple[str, Host | Server]] = [
            (f"exchange.servers[{i}]", s) for i, s in enumerate(self.exchange.servers)
        ]
        if self.rpc_proxy.front_end:
            hosts.append(("rpc_proxy.front_end", self.rpc_proxy.front_end))
        for where, host in hosts:
            for form in (host.name, host.fqdn):
                if form.lower() in seen:
                    raise ValueError(f"{where}: {form} is already listed at {seen[form.lower()]}")
                seen[form.lower()] = where
        if self.exchange.servers[0].fqdn.lower() == self.rpc_proxy.public_fqdn.lower():
            raise ValueError(
                "exchange.servers[0].fqdn: give the server's internal Active Directory FQDN, not "
                "the public name: the Connectivity Analyzer and the endpoint refuse the public name"
            )
        names = [d.name.lower() for d in self.domains]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"domains[{i}]: {self.domains[i].name} is listed twice")
        return self


SLUG_RULE = "a slug of lower-case letters, digits and single dashes, e.g. northwind-traders"
# The default batch and endpoint names are the slug and a suffix (`<slug>-cutover`,
# `<slug>-endpoint`): a slug short enough for the longer one keeps both within NAME_MAX.
SLUG_MAX = NAME_MAX - len("-endpoint")
# Names Windows keeps for devices, with any extension: the bundle's clients/con/ and
# handouts/con.pdf cannot be unpacked there, nor the handout saved as con.pdf.
WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))]
)


def _slug_problem(slug: str) -> str | None:
    """Why `slug` is no slug, or None."""
    if not _SLUG.fullmatch(slug):
        return SLUG_RULE
    if len(slug) > SLUG_MAX:
        return (
            f"a slug of at most {SLUG_MAX} characters (this one has {len(slug)}), so that the "
            "batch and endpoint names made from it (<slug>-cutover, <slug>-endpoint) stay "
            f"within {NAME_MAX} characters"
        )
    if slug in WINDOWS_DEVICES:
        return (
            f"a slug other than a name Windows keeps for a device (con, prn, aux, nul, com0-9, "
            f"lpt0-9): the handout {slug}.pdf and the offline bundle could not be saved or "
            f"unpacked on Windows; e.g. {slug}-traders"
        )
    return None


def check_slug(slug: str) -> str:
    """A client's slug: the file name without `.yml`; raise `UserError` if it is not one."""
    problem = _slug_problem(slug)
    if problem:
        raise UserError(f"{slug!r} is not {problem}")
    return slug


CLIENT_SUFFIXES = (".yml", ".yaml")


def slug_of(path: Path) -> str:
    """The slug of a client file: its name must be `<slug>.yml` (or `<slug>.yaml`)."""
    slug = path.stem
    problem = _slug_problem(slug) if path.suffix in CLIENT_SUFFIXES else SLUG_RULE
    if problem:
        message = f"the file name must be <slug>.yml with {problem}"
        raise ClientFileError([Problem(str(path), 1, 1, "", message)])
    return slug


def load_client(path: Path, display: str | None = None) -> Client:
    """Load and validate a client file; raise `ClientFileError` with every problem in it."""
    return read_client(path, display)[0]


def read_client(path: Path, display: str | None = None) -> tuple[Client, bool]:
    """Load and validate a client file, and say whether it is a draft (`draft: true`)."""
    slug_of(path)
    doc = load_document(path, display)
    return validate_document(doc), doc.draft


def is_draft(path: Path) -> bool:
    """Whether a readable client file says `draft: true` (it is then never published)."""
    try:
        return load_document(path).draft
    except ClientFileError:
        return False


def validate_document(doc: Document) -> Client:
    """The `Client` of a loaded document, or every problem of it at once. A draft may keep
    its FILL-IN markers and placeholders; every other rule holds for it too."""
    problems = list(doc.problems)
    if not doc.draft:
        problems += doc.markers
    problems += _trap_problems(doc, {p.path for p in problems})
    flagged = {p.path for p in problems}
    own = _OWN_DOMAIN.set(_own_domain(doc.data))
    try:
        with drafting(doc.draft):
            client = Client.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # a misspelt key already says "did you mean x": do not also report x as missing
        meant = {_suggested(e) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            if error["type"] == "missing" and _loc(error) in meant:
                continue
            problem = _problem(doc, error)
            if problem.path not in flagged:
                problems.append(problem)
        raise ClientFileError(problems) from None
    finally:
        _OWN_DOMAIN.reset(own)
    if problems:
        raise ClientFileError(problems)
    return client


def _trap_problems(doc: Document, flagged: set[str]) -> list[Problem]:
    """Values YAML 1.1 reads otherwise than YAML 1.2 and the schema (`no` as false, `0777` as
    511, `1:00` as 60), where the field expects a number or true/false. Where it expects text
    the "put text in quotes" message of the model says it better."""
    out: list[Problem] = []
    for path, raw in doc.traps.items():
        kinds = _kinds_at(path)
        value = _value_at(doc.data, path)
        kind = trap_kind(raw, value)
        if str in kinds or not kinds & {bool, int, float} or kind is None:
            continue  # text, dates and unknown fields get the model's own message
        if dotted(path) in flagged:
            continue
        out.append(doc.problem(path, _trap_message(kind, raw, value, kinds, _choices_at(path))))
    return out


def _trap_message(kind: str, raw: str, value: Any, kinds: set[Any], choices: list[Any]) -> str:
    """What a YAML 1.1 reading means and how to write the value instead."""
    if kind == "bool":
        word = "true" if value else "false"
        if bool in kinds:
            return f"write {word}, not {raw}: only true and false are yes/no values here"
        if choices:
            return (
                f"{raw} is a yes/no word in YAML, not a number: write {_listed(choices)}, not {raw}"
            )
        return f"{raw} is a yes/no word in YAML, not a number: write the number itself, not {raw}"
    if kind == "octal":
        plain = raw.lstrip("+-").lstrip("0") or "0"
        return (
            f"{raw} has a leading zero, which YAML reads as the octal number {value}: "
            f"write {plain} (or {value} if you meant that)"
        )
    if kind == "sexagesimal":
        return (
            f"{raw} is read as a base-60 number ({value}) in YAML: write the plain number "
            "(a TTL in seconds, e.g. 3600)"
        )
    if kind == "radix":
        return f"write the number in decimal ({value}), not {raw}"
    return f"write {raw.replace('_', '')} without underscores"


def _value_at(data: Any, path: Path_) -> Any:
    """The loaded value at `path`, or None."""
    for part in path:
        if isinstance(part, int) and isinstance(data, list) and part < len(data):
            data = data[part]
        elif isinstance(part, str) and isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _kinds_at(path: Path_) -> set[Any]:
    """The Python types the field at `path` accepts (Literal values count as their type);
    empty when `path` is no field of the client file."""
    annotation = _annotation_at(path)
    return _types_in(annotation) if annotation is not None else set()


def _choices_at(path: Path_) -> list[Any]:
    """The values a `Literal` field at `path` allows; empty for any other field."""
    annotation = _annotation_at(path)
    while typing.get_origin(annotation) in (typing.Annotated, typing.Union, types.UnionType):
        annotation = typing.get_args(annotation)[0]
    return list(typing.get_args(annotation)) if typing.get_origin(annotation) is Literal else []


def _annotation_at(path: Path_) -> Any:
    """The annotation of the field at `path`, or None."""
    annotation: Any = Client
    for part in path:
        if isinstance(part, int):
            annotation = _item_of(annotation)
        else:
            model = _model_of(annotation)
            info = model.model_fields.get(part) if model else None
            annotation = info.annotation if info else None
        if annotation is None:
            return None
    return annotation


def _item_of(annotation: Any) -> Any:
    """The item type of `list[X]` inside `X | None` or `Annotated[...]`, or None."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _item_of(arg)
            if found is not None:
                return found
    return None


def _types_in(annotation: Any) -> set[Any]:
    """The scalar types an annotation accepts."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return {type(v) for v in typing.get_args(annotation)}
    if origin is typing.Annotated:
        return _types_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_types_in(a) for a in typing.get_args(annotation)))
    if isinstance(annotation, type) and not issubclass(annotation, BaseModel):
        return {annotation}
    return set()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the client file, for editors and the reference page."""
    schema = Client.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# --- turning pydantic's errors into a consultant's sentences ---------------------------------

_KIND = {bool: "a yes/no value", int: "a number", float: "a number", dt.date: "a date"}


def _loc(error: ErrorDetails) -> Path_:
    """The path of an error within the client file."""
    return tuple(p for p in error["loc"] if isinstance(p, (str, int)))


def _suggested(error: ErrorDetails) -> Path_ | None:
    """The path of the field an unknown key was probably meant to be."""
    loc = _loc(error)
    close = _closest(str(loc[-1]), _fields_at(loc[:-1]))
    return (*loc[:-1], close) if close else None


def _closest(key: str, known: list[str]) -> str | None:
    """The known field name nearest to `key`, if one is near enough."""
    found = difflib.get_close_matches(key.lower().replace("-", "_"), known, n=1, cutoff=0.6)
    return found[0] if found else None


def _problem(doc: Document, error: ErrorDetails) -> Problem:
    """One pydantic error as a `Problem` with position, path and a plain reason."""
    loc = _loc(error)
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return doc.problem(loc, _unknown_field(loc), key=True)
    if kind == "missing":
        return doc.problem(loc, "is required")
    if kind == "string_type" and given is None:
        return doc.problem(loc, "is empty; give a value or remove the line")
    if kind == "string_type" and type(given) in _KIND:
        raw = doc.raw.get(loc, str(given))
        return doc.problem(
            loc, f'{raw} reads as {_KIND[type(given)]} in YAML; put text in quotes: "{raw}"'
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return doc.problem(loc, f"expected a mapping of fields, found {_shown(given)}")
    if kind == "list_type":
        return doc.problem(loc, f"expected a list, found {_shown(given)}")
    if kind in ("int_type", "int_from_float") and isinstance(given, float) and _whole(given):
        raw = doc.raw.get(loc, repr(given))
        return doc.problem(loc, f"write {int(given)}, a whole number, not {raw}")
    if kind == "int_type" and isinstance(given, bool) and _choices_at(loc):
        return doc.problem(loc, f"must be {_listed(_choices_at(loc))}, found {_shown(given)}")
    if kind in ("int_type", "float_type", "int_from_float"):
        whole = "a whole number" if kind != "float_type" else "a number"
        hint = ""
        if isinstance(given, str) and _numeric(given):
            hint = (
                " (write it without quotes)"
                if loc in doc.quoted
                else f" (write it in plain digits, e.g. {_plain_number(given)})"
            )
        return doc.problem(loc, f"expected {whole}, found {_shown(given)}{hint}")
    if kind.startswith("date_"):
        written = doc.raw.get(loc)  # as written: YAML 1.1 reads `yes` as true, `0777` as 511
        shown = repr(written) if written is not None else _shown(given)
        return doc.problem(loc, f"{shown} is not a date written YYYY-MM-DD, e.g. 2026-12-05")
    if kind == "bool_type":
        hint = _unquote_hint(doc, loc, given, [True, False])
        return doc.problem(loc, f"expected true or false, found {_shown(given)}{hint}")
    if kind == "literal_error":
        choices = _choices_at(loc)
        hint = _unquote_hint(doc, loc, given, choices)
        if isinstance(given, str) and not hint:  # a pasted smart quote looks like a real one
            words = all(isinstance(c, str) for c in choices)
            hint = _odd_character(given, "_", "a letter a-z" if words else "a digit")
        expected = (error.get("ctx") or {}).get("expected")
        if hint and expected:
            return doc.problem(loc, f"must be {expected}, found {_shown(given)}{hint}")
    if kind == "too_short":
        return doc.problem(loc, "needs at least one entry")
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return doc.problem(loc, f"is longer than {limit} characters; shorten it")
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        where, sep, rest = message.partition(": ")
        if kind == "value_error" and not loc and sep and where[:1].isalpha():
            # model-level checks name the field they concern at the start of the message
            sub = _parse_dotted(where)
            return doc.problem(sub, rest)
    return doc.problem(loc, message.replace("Input should be", "must be"))


def _whole(number: float) -> bool:
    """Whether a float is a whole number small enough to write in plain digits."""
    return number.is_integer() and abs(number) < 1e15


def _listed(choices: list[Any]) -> str:
    """`0, 1 or 2`, as pydantic lists the choices of a Literal."""
    return ", ".join(str(c) for c in choices[:-1]) + f" or {choices[-1]}"


def _unquote_hint(doc: Document, loc: Path_, given: Any, choices: list[Any]) -> str:
    """The hint to drop the quotes when a quoted value is one of the number or true/false
    `choices` as written (`service_pack: "2"`): without it, "must be 0, 1 or 2" reads as if
    2 were refused."""
    if loc not in doc.quoted or not isinstance(given, str):
        return ""
    spelt = {str(c).lower() for c in choices if not isinstance(c, str)}
    return " (write it without quotes)" if given.strip().lower() in spelt else ""


def _plain_number(text: str) -> str:
    """A number YAML took for text (`1e3`) in plain digits (`1000`)."""
    number = float(text)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _numeric(text: str) -> bool:
    """Whether quoted text is really a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shown(value: Any) -> str:
    """A value as the user typed it, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return repr(text) if len(text) < 60 else repr(text[:57] + "...")


def _parse_dotted(text: str) -> Path_:
    """`exchange.servers[1]` back into a path."""
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)


def _unknown_field(loc: Path_) -> str:
    """The message for an unknown key, with the nearest known field name."""
    key = str(loc[-1])
    known = _fields_at(loc[:-1])
    close = _closest(key, known)
    if close:
        return f"unknown field {key!r}; did you mean {close!r}?"
    elsewhere = [dotted_section for dotted_section, fields in _SECTIONS.items() if key in fields]
    if elsewhere:
        return f"unknown field {key!r} here; it belongs under {elsewhere[0]}"
    listed = ", ".join(known)
    return f"unknown field {key!r}; the fields here are: {listed}"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X`, `X | None`, `list[X]` or `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found:
                return found
    return None


def _fields_at(path: Path_) -> list[str]:
    """Field names of the model found at `path` of a client file."""
    model: type[BaseModel] | None = Client
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        model = _model_of(info.annotation) if info else None
    return list(model.model_fields) if model else []


def _sections(model: type[BaseModel], prefix: str) -> dict[str, list[str]]:
    """Every section of the client file with its field names."""
    out = {prefix or "the top level": list(model.model_fields)}
    for name, info in model.model_fields.items():
        sub = _model_of(info.annotation)
        if sub:
            out.update(_sections(sub, f"{prefix}.{name}" if prefix else name))
    return out


_SECTIONS = _sections(Client, "")
