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
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from generator.errors import ClientFileError, Problem, UserError
from generator.load import Document, Path_, load_document
from generator.placeholders import find_placeholder

SCHEMA_FILE = "client.schema.json"
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_FQDN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")
_NETBIOS = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}$")
_EMAIL_LOCAL = re.compile(r"^(?![.-])[A-Za-z0-9._%+-]{1,64}(?<!\.)$")
_ACCOUNT = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}\\(?![.-])[A-Za-z0-9._-]{1,20}(?<!\.)$")
_BATCH = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Characters that end or chain a command in cmd.exe, PowerShell or a POSIX shell.
_BREAKOUT = re.compile(r"[\s;&|\"'`$<>(){}\[\]\\^%!*?,]")
MX_SUFFIXES = (".mail.protection.outlook.com", ".mx.microsoft")


def _breakout_reason(value: str) -> str | None:
    """Why `value` could break out of a command line, or None."""
    found = _BREAKOUT.search(value)
    if not found:
        return None
    char = found.group()
    shown = {" ": "a space", "\t": "a tab", "\n": "a line break"}.get(char, repr(char))
    return f"{shown} is not allowed here: it could break the command line this value goes into"


def _no_placeholder(value: str) -> str:
    """Refuse stand-in text such as TODO or example.com: the runbook must be the real thing."""
    found = find_placeholder(value)
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
    if not _FQDN.match(value) or value.rsplit(".", 1)[1].isdigit():
        raise ValueError(
            f"{value!r} is not a valid DNS name: use letters, digits and dashes between dots"
        )
    return value


def check_netbios(value: str) -> str:
    """A NetBIOS computer name: 1-15 letters, digits and dashes, not starting with a dash."""
    _host(value, what="name")
    if not _NETBIOS.match(value):
        raise ValueError(
            f"{value!r} is not a NetBIOS name: 1 to 15 letters, digits or dashes, "
            "not starting with a dash (the short name, not the FQDN)"
        )
    return value


def check_certificate_name(value: str) -> str:
    """The certificate's name: an FQDN, or a wildcard `*.` followed by one."""
    check_fqdn(value[2:] if value.startswith("*.") else value)
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
    if not _EMAIL_LOCAL.match(local):
        raise ValueError(
            f"{value!r}: the part before @ may hold letters, digits and . _ % + - only"
        )
    try:
        check_fqdn(domain)
    except ValueError as exc:
        raise ValueError(f"{value!r}: the domain part is not valid ({exc})") from None
    return value


def check_account(value: str) -> str:
    """`DOMAIN\\user`: a NetBIOS domain name, a backslash, a pre-Windows 2000 user name."""
    reason = _breakout_reason(value.replace("\\", "", 1))
    if reason:
        raise ValueError(reason)
    if "\\" not in value:
        raise ValueError(
            f"{value!r} must be written DOMAIN\\user (the pre-Windows 2000 logon name), "
            "e.g. CONTOSO\\migadmin"
        )
    if not _ACCOUNT.match(value):
        raise ValueError(
            f"{value!r} must be DOMAIN\\user: a domain of 1-15 letters, digits or dashes and "
            "a user name of 1-20 letters, digits, dots, dashes or underscores"
        )
    return value


def check_mx_target(value: str) -> str:
    """An Exchange Online MX host: `<token>.mail.protection.outlook.com` or `.mx.microsoft`."""
    check_fqdn(value)
    if not value.lower().endswith(MX_SUFFIXES):
        raise ValueError(
            f"{value!r} is not an Exchange Online MX host: copy the value from the admin "
            "center; it ends in .mail.protection.outlook.com (or .mx.microsoft with DNSSEC)"
        )
    return value


def check_batch_name(value: str) -> str:
    """A migration batch name: no spaces or special characters (DOMAIN.md section 7)."""
    if not _BATCH.match(value):
        raise ValueError(
            f"{value!r}: a batch name may hold only letters, digits, '-' and '_' (at most 64)"
        )
    return value


def check_line(value: str) -> str:
    """Free text on one line, with no control characters."""
    if not value.strip():
        raise ValueError("is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be a single line of text without control characters")
    return _no_placeholder(value.strip())


def check_notes(value: str) -> str:
    """Free Markdown text; control characters other than tabs and line breaks are refused."""
    if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in value):
        raise ValueError("contains control characters")
    return _no_placeholder(value)


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


Fqdn = Annotated[str, AfterValidator(check_fqdn)]
NetbiosName = Annotated[str, AfterValidator(check_netbios)]
Email = Annotated[str, AfterValidator(check_email)]
Line = Annotated[str, Field(max_length=200), AfterValidator(check_line)]
# 365 is Microsoft 365 Apps (the subscription's Outlook), which has no year.
OutlookVersion = Literal[2000, 2002, 2003, 2007, 2010, 2013, 2016, 2019, 2021, 2024, 365]


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

    service_pack: Literal[0, 1, 2] = Field(
        2, description="Exchange 2003 service pack level: 0, 1 or 2."
    )
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

    public_fqdn: Fqdn = Field(
        description="Public name Office 365 connects to on 443; the name on the certificate."
    )
    certificate_name: Annotated[str, AfterValidator(check_certificate_name)] | None = Field(
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
    migration_account: Annotated[str, AfterValidator(check_account)] = Field(
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
        description="Who receives the batch reports. Default: the admin.",
    )
    batch_name: Annotated[str, AfterValidator(check_batch_name)] | None = Field(
        None,
        description="Migration batch name: letters, digits, '-' and '_'. Default: the slug, then "
        "-cutover.",
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

    name: Fqdn = Field(description="The mail domain, e.g. contoso.com.")
    mx_target: Annotated[str, AfterValidator(check_mx_target)] | None = Field(
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
    window: Annotated[dt.date | None, BeforeValidator(_iso_date), AfterValidator(check_window)] = (
        Field(None, description="Planned cutover date (the MX switch), YYYY-MM-DD.")
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
    notes: Annotated[str, Field(max_length=20_000), AfterValidator(check_notes)] | None = Field(
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


def check_slug(slug: str) -> str:
    """A client's slug: the file name without `.yml`; raise `UserError` if it is not one."""
    if not _SLUG.match(slug):
        raise UserError(f"{slug!r} is not {SLUG_RULE}")
    return slug


def slug_of(path: Path) -> str:
    """The slug of a client file: its name must be `<slug>.yml`."""
    slug = path.name.removesuffix(".yml")
    if not _SLUG.match(slug) or not path.name.endswith(".yml"):
        message = f"the file name must be <slug>.yml with {SLUG_RULE}"
        raise ClientFileError([Problem(str(path), 1, 1, "", message)])
    return slug


def load_client(path: Path, display: str | None = None) -> Client:
    """Load and validate a client file; raise `ClientFileError` with every problem in it."""
    slug_of(path)
    doc = load_document(path, display)
    return validate_document(doc)


def validate_document(doc: Document) -> Client:
    """The `Client` of a loaded document, or every problem of it at once."""
    problems = list(doc.problems)
    flagged = {p.path for p in problems}
    try:
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
    if problems:
        raise ClientFileError(problems)
    return client


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
    if kind in ("int_type", "float_type", "int_from_float"):
        whole = "a whole number" if kind != "float_type" else "a number"
        hint = " (write it without quotes)" if isinstance(given, str) and _numeric(given) else ""
        return doc.problem(loc, f"expected {whole}, found {_shown(given)}{hint}")
    if kind == "bool_type":
        return doc.problem(loc, f"expected true or false, found {_shown(given)}")
    if kind == "too_short":
        return doc.problem(loc, "needs at least one entry")
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        where, sep, rest = message.partition(": ")
        if kind == "value_error" and not loc and sep and where[:1].isalpha():
            # model-level checks name the field they concern at the start of the message
            sub = _parse_dotted(where)
            return doc.problem(sub, rest)
    return doc.problem(loc, message.replace("Input should be", "must be"))


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
