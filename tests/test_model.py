"""Stage "model": drafts, names the internet must reach, hidden characters, values that land in
commands, and the window warnings of `generator.plan`."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import site
from generator.errors import ClientFileError
from generator.load import parse_document
from generator.model import Client, validate_document
from generator.plan import batch_lead_days, lead_days, ttl_lead_days, window_warnings
from tests.conftest import EXAMPLES, Run, client_dict

NAME = "runbooks/acme.yml"
DRAFT = Path(__file__).resolve().parent / "fixtures" / "drafts" / "acme-draft.yml"


def problems_of(data: dict[str, Any] | str) -> list[str]:
    """Every problem line of a client given as a dict or text, or [] when it is valid."""
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    try:
        validate_document(parse_document(text.encode(), NAME))
    except ClientFileError as exc:
        return exc.lines()
    return []


def client_of(**changes: Any) -> Client:
    return validate_document(parse_document(yaml.safe_dump(client_dict(**changes)).encode(), NAME))


# --- drafts ------------------------------------------------------------------------------------


def test_the_draft_fixture_is_valid_with_its_markers() -> None:
    text = DRAFT.read_text(encoding="utf-8")
    assert "FILL-IN" in text and "draft: true" in text
    assert problems_of(text) == []


def test_the_same_file_without_draft_lists_every_marker() -> None:
    text = DRAFT.read_text(encoding="utf-8").replace("draft: true", "draft: false")
    found = problems_of(text)
    assert len(found) == 5, found
    assert all("replace the FILL-IN marker" in line for line in found)


def test_a_draft_still_gets_every_other_rule() -> None:
    text = DRAFT.read_text(encoding="utf-8").replace("service_pack: 2", "service_pack: 7")
    text = text.replace("name: acmewidgets.com", "name: acme.local")
    found = problems_of(text)
    assert [line.split(": ", 2)[1] for line in found] == [
        "exchange.service_pack",
        "domains[0].name",
    ]


def test_placeholders_are_tolerated_in_a_draft_only() -> None:
    data = client_dict(**{"rpc_proxy.public_fqdn": "mail.example.com"})
    assert problems_of(data) == [
        f"{NAME}:8:16: rpc_proxy.public_fqdn: 'example.com' looks like a placeholder; write "
        "this client's real value"
    ]
    assert problems_of({"draft": True, **data}) == []


@pytest.mark.parametrize("words", ["TBD", "TODO ask for the key", "FIXME: the router", "<server>"])
def test_words_like_tbd_in_notes_are_prose_not_errors(words: str) -> None:
    assert problems_of(client_dict(notes=f"Firewall: {words}\n")) == []


def test_a_quoted_draft_flag_is_an_error() -> None:
    assert problems_of({"draft": "yes", **client_dict()}) == [
        f"{NAME}:1:8: draft: expected true or false, found 'yes'"
    ]


def test_validate_lists_drafts_and_values_refuses_them(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    (tmp_path / "runbooks").mkdir()
    shutil.copy(DRAFT, tmp_path / "runbooks")
    shutil.copy(EXAMPLES / "northwind-traders.yml", tmp_path / "runbooks")
    result = cli("validate", "--runbooks", str(tmp_path / "runbooks"), cwd=tmp_path)
    assert result.code == 0, result.err
    assert f"{tmp_path}/runbooks/acme-draft.yml: draft: not published (" in result.out
    assert f"{tmp_path}/runbooks/northwind-traders.yml: ok" in result.out
    # these verbs publish nothing: the refusal says what they need, not "is not published"
    for verb in ["values", "steps", "render", "check", "bundle"]:
        refused = cli(verb, "acme-draft", "--runbooks", str(tmp_path / "runbooks"), cwd=tmp_path)
        assert refused.code == 2, verb
        assert (refused.out, refused.err) == (
            "",
            f"{tmp_path}/runbooks/acme-draft.yml: is a draft (draft: true); `runbook {verb}` "
            "works on finished client files only: set `draft: false` when it is ready "
            "(`runbook validate` then lists any FILL-IN left)\n",
        )


def test_the_site_leaves_drafts_out_even_broken_ones(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    shutil.copy(DRAFT, folder)
    broken = DRAFT.read_text(encoding="utf-8").replace("service_pack: 2", "service_pack: 7")
    (folder / "broken-draft.yml").write_text(broken, encoding="utf-8")
    shutil.copy(EXAMPLES / "northwind-traders.yml", folder)
    pages = site.collect(folder)
    assert [p.values.slug for p in pages] == ["northwind-traders"]


def test_a_broken_file_that_is_not_a_draft_still_fails_the_site(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    text = DRAFT.read_text(encoding="utf-8").replace("draft: true", "draft: false")
    (folder / "acme-draft.yml").write_text(text, encoding="utf-8")
    with pytest.raises(site.UserError) as caught:
        site.collect(folder)
    assert len(caught.value.lines()) == 5


# --- names the internet must reach -------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix", ["local", "lan", "internal", "corp", "home.arpa", "localdomain", "LOCAL"]
)
def test_a_mail_domain_cannot_be_internal(suffix: str) -> None:
    data = client_dict(domains=[{"name": f"acme.{suffix}"}])
    assert problems_of(data) == [
        f"{NAME}:15:9: domains[0].name: 'acme.{suffix}' ends in .{suffix.lower()}, a name that "
        "exists only inside a network: mail from the internet cannot be delivered to it; give "
        "the public mail domain (what follows @ in the users' public addresses), not the Active "
        "Directory name"
    ]


def test_the_public_name_cannot_be_internal_or_a_single_label() -> None:
    assert problems_of(client_dict(**{"rpc_proxy.public_fqdn": "mail.acme.lan"})) == [
        f"{NAME}:8:16: rpc_proxy.public_fqdn: 'mail.acme.lan' ends in .lan, a name that exists "
        "only inside a network: Office 365 reaches this name from the internet; give the public "
        "name (the one on the certificate)"
    ]
    # the example is a host in the client's own mail domain, never a stranger's mail.com
    assert problems_of(client_dict(**{"rpc_proxy.public_fqdn": "mail"})) == [
        f"{NAME}:8:16: rpc_proxy.public_fqdn: 'mail' is a single label, a name that exists only "
        "inside a network: give the full public name, e.g. mail.testclient.com"
    ]
    certificate = client_dict(**{"rpc_proxy.certificate_name": "*.remote"})
    assert problems_of(certificate) == [
        f"{NAME}:10:21: rpc_proxy.certificate_name: 'remote' is a single label, a name that "
        "exists only inside a network: give the full public name, e.g. remote.testclient.com"
    ]


def test_a_single_label_public_name_without_a_usable_domain_gets_contoso() -> None:
    data = client_dict(**{"rpc_proxy.public_fqdn": "mail"})
    data["domains"] = [{"name": "testclient.local"}]
    found = problems_of(data)
    assert found[0] == (
        f"{NAME}:8:16: rpc_proxy.public_fqdn: 'mail' is a single label, a name that exists only "
        "inside a network: give the full public name, e.g. mail.contoso.com"
    )


@pytest.mark.parametrize(
    ("field", "typed", "expected"),
    [
        (
            "rpc_proxy.authentication",
            "\u201cbasic\u201d",
            "must be 'basic' or 'ntlm', found '\u201cbasic\u201d' ('\u201c' is LEFT DOUBLE "
            "QUOTATION MARK, not a letter a-z)",
        ),
        (
            "office365.mailbox_permission",
            "\u2018admin\u2019",
            "must be 'full_access' or 'admin', found '\u2018admin\u2019' ('\u2018' is LEFT "
            "SINGLE QUOTATION MARK, not a letter a-z)",
        ),
        (
            "exchange.service_pack",
            "\u201c2\u201d",
            "must be 0, 1 or 2, found '\u201c2\u201d' ('\u201c' is LEFT DOUBLE QUOTATION MARK, "
            "not a digit)",
        ),
    ],
    ids=["authentication", "mailbox_permission", "service_pack"],
)
def test_a_choice_in_pasted_smart_quotes_names_the_quote(
    field: str, typed: str, expected: str
) -> None:
    # "must be 'basic' or 'ntlm'" alone reads as if basic were refused: the quotes look alike
    text = yaml.safe_dump(client_dict(**{field: "PASTED"}), sort_keys=False)
    [found] = problems_of(text.replace("PASTED", typed))
    assert found.split(": ", 2)[1:] == [field, expected]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("office365.test_mailbox", "jane@acme.local"),
        ("office365.admin", "admin@acme.corp"),
        ("office365.notification_emails", ["it@acme.internal"]),
    ],
)
def test_addresses_cannot_be_internal(field: str, value: Any) -> None:
    found = problems_of(client_dict(**{field: value}))
    assert len(found) == 1, found
    assert "the domain part ends in ." in found[0]
    assert "Office 365 cannot deliver to it" in found[0]


def test_server_names_may_be_active_directory_names() -> None:
    assert problems_of(client_dict()) == []  # exch01.corp.local
    assert client_of().exchange.servers[0].fqdn.endswith(".local")


def test_an_address_without_a_dotted_domain_is_not_told_to_end_in_local() -> None:
    # the hint was "e.g. testclient.local", which the next run refuses: Office 365 cannot
    # deliver to an internal-only name
    def problem(address: str) -> list[str]:
        return problems_of(client_dict(**{"office365.test_mailbox": address}))

    where = f"{NAME}:13:17: office365.test_mailbox: "
    assert problem("jane@testclient") == [
        f"{where}'jane@testclient': the domain part 'testclient' is a single label, a name "
        "that exists only inside a network: give the full domain, e.g. testclient.com"
    ]
    assert problem("jane@") == [f"{where}'jane@': the domain part is not valid (nothing follows @)"]
    assert problem("jane@testclient.com") == []


# --- hidden characters and values that land in commands ----------------------------------------


@pytest.mark.parametrize(
    "char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\x1b"]
)
@pytest.mark.parametrize("field", ["client", "consultant", "notes"])
def test_control_and_bidi_characters_are_refused(field: str, char: str) -> None:
    found = problems_of(client_dict(**{field: f"Acme {char}evil{char} Widgets"}))
    assert len(found) == 1, found
    assert f": {field}: holds U+{ord(char):04X}, a " in found[0]


def test_notes_keep_tabs_and_line_breaks() -> None:
    assert problems_of(client_dict(notes="Line one\n\tindented\r\nthree\n")) == []


@pytest.mark.parametrize("name", ["-WhatIf", "-Confirm:$false", "--", "-"])
def test_a_batch_name_cannot_start_with_a_dash(name: str) -> None:
    found = problems_of(client_dict(**{"office365.batch_name": name}))
    assert len(found) == 1, found
    assert "starts with '-': PowerShell would read it as a parameter" in found[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("office365.batch_name", "acme-cutover\n"),
        ("office365.migration_account", "ACME\\migadmin\n"),
        ("office365.admin", "admin\n@acme.onmicrosoft.com"),
        ("rpc_proxy.public_fqdn", "mail.acmewidgets.com\n"),
    ],
)
def test_a_final_line_break_never_passes_a_name_rule(field: str, value: str) -> None:
    # Python's `$` matches before a final line break: "acme-cutover\n" passed as a batch name
    # and split `Get-MigrationBatch -Identity acme-cutover | Format-List ...` in two commands
    found = problems_of(client_dict(**{field: value}))
    assert len(found) == 1, found
    assert f": {field}: " in found[0]


def test_an_account_is_shown_with_the_backslash_as_typed() -> None:
    # repr() showed CORP\\migadmin with two backslashes, as if the file held two
    def problem(account: str) -> list[str]:
        return problems_of(client_dict(**{"office365.migration_account": account}))

    rule = (
        "a domain of 1-15 letters, digits or dashes and a user name of 1-20 letters, digits, "
        "dots, dashes or underscores"
    )
    where = f"{NAME}:12:22: office365.migration_account: "
    assert problem("CORP\\mig.admin.toolong.name") == [
        f"{where}'CORP\\mig.admin.toolong.name' must be DOMAIN\\user: {rule}"
    ]
    assert problem("\u201cCORP\\migadmin\u201d") == [
        f"{where}'\u201cCORP\\migadmin\u201d' must be DOMAIN\\user ('\u201c' is LEFT DOUBLE "
        f"QUOTATION MARK, not a letter a-z): {rule}"
    ]
    assert problem("CORP\\\\migadmin") == [
        f"{where}'CORP\\\\migadmin' has 2 backslashes: write one between the domain and the "
        "user, e.g. CONTOSO\\migadmin"
    ]
    assert problems_of(client_dict(**{"rpc_proxy.public_fqdn": "mail\\testclient.com"})) == [
        f"{NAME}:8:16: rpc_proxy.public_fqdn: a backslash is not allowed here: it could break "
        "the command line this value goes into"
    ]


# --- numbers and yes/no values written in quotes --------------------------------------------


def test_a_quoted_choice_or_yes_no_value_says_to_drop_the_quotes() -> None:
    # "must be 0, 1 or 2" alone, for a file that says "2", reads as if 2 were refused
    server = {"name": "EXCH01", "fqdn": "exch01.corp.local", "global_catalog": "true"}
    assert problems_of(client_dict(**{"exchange.service_pack": "2"})) == [
        f"{NAME}:3:17: exchange.service_pack: must be 0, 1 or 2, found '2' (write it without "
        "quotes)"
    ]
    assert problems_of(client_dict(**{"exchange.servers": [server]})) == [
        f"{NAME}:7:21: exchange.servers[0].global_catalog: expected true or false, found 'true' "
        "(write it without quotes)"
    ]
    assert problems_of(client_dict(outlook_versions=[2010, "2016"])) == [
        f"{NAME}:20:3: outlook_versions[1]: must be 2000, 2002, 2003, 2007, 2010, 2013, 2016, "
        "2019, 2021, 2024 or 365, found '2016' (write it without quotes)"
    ]


@pytest.mark.parametrize(
    ("field", "value", "where", "expected"),
    [
        ("exchange.service_pack", 2.0, "3:17", "write 2, a whole number, not 2.0"),
        ("outlook_versions", [2010.0], "19:3", "write 2010, a whole number, not 2010.0"),
        ("domains", [{"name": "testclient.com", "mx_ttl": 3600.0}], "16:11", "write 3600, a "
         "whole number, not 3600.0"),
        ("mailboxes.count", 42.0, "19:10", "write 42, a whole number, not 42.0"),
        ("office365.concurrent_mailboxes", 3.0, "14:25", "write 3, a whole number, not 3.0"),
        ("exchange.service_pack", True, "3:17", "must be 0, 1 or 2, found 'true'"),
        ("exchange.service_pack", 1.5, "3:17", "must be 0, 1 or 2"),
        ("mailboxes.count", 42.5, "19:10", "expected a whole number, found '42.5'"),
    ],
)  # fmt: skip
def test_a_whole_number_written_as_a_float_or_yes_no_is_refused(
    field: str, value: Any, where: str, expected: str
) -> None:
    # the schema says integer: a choice of numbers took 2.0 and true (== 1) as 2 and 1
    [found] = problems_of(client_dict(**{field: value}))
    assert found.startswith(f"{NAME}:{where}: ") and found.endswith(f": {expected}"), found


def test_a_quoted_value_that_is_no_choice_gets_no_quotes_hint() -> None:
    server = {"name": "EXCH01", "fqdn": "exch01.corp.local", "global_catalog": "yes"}
    assert problems_of(client_dict(**{"exchange.service_pack": "3"})) == [
        f"{NAME}:3:17: exchange.service_pack: must be 0, 1 or 2"
    ]
    assert problems_of(client_dict(**{"exchange.servers": [server]})) == [
        f"{NAME}:7:21: exchange.servers[0].global_catalog: expected true or false, found 'yes'"
    ]


# --- the window ---------------------------------------------------------------------------------

TODAY = dt.date(2026, 12, 1)


def test_a_window_in_the_past_warns() -> None:
    client = client_of(window="2026-11-30")
    assert window_warnings(client, TODAY) == [
        (
            "window-past",
            "The window 2026-11-30 is in the past: set the planned MX switch date (window) "
            "before using this runbook's schedule.",
        )
    ]


def test_the_lead_time_without_size_or_ttl_is_a_week_and_two_days() -> None:
    no_ttl = [{"name": "testclient.com", "mx_target": "testclient-com.mail.protection.outlook.com"}]
    client = client_of(window="2026-12-04", domains=no_ttl)
    assert (ttl_lead_days(client), batch_lead_days(client), lead_days(client)) == (2, 9, 9)
    assert window_warnings(client, TODAY) == [
        (
            "window-too-close",
            "The window 2026-12-04 is 3 days away; the plan needs 9 (MX TTL lowered 2 days "
            "ahead, preparation and initial sync 9 days ahead): the earliest sensible window is "
            "2026-12-10.",
        )
    ]
    assert window_warnings(client_of(window="2026-12-10", domains=no_ttl), TODAY) == []
    late = window_warnings(client_of(window="2026-12-09", domains=no_ttl), TODAY)
    assert late[0][0] == "window-too-close"


def test_a_long_ttl_and_a_fast_sync_make_the_ttl_the_deadline() -> None:
    client = client_of(
        window="2026-12-20",
        domains=[{"name": "testclient.com", "mx_ttl": 10 * 86400}],
        mailboxes={"total_gb": 1},
        network={"upstream_mbps": 100},
    )
    assert (ttl_lead_days(client), batch_lead_days(client)) == (10, 5)
    assert window_warnings(client, dt.date(2026, 12, 10)) == []
    assert window_warnings(client, dt.date(2026, 12, 11))[0][1].endswith(
        "the earliest sensible window is 2026-12-21."
    )


def test_a_one_day_lead_is_one_day_not_one_days() -> None:
    client = client_of(window="2026-12-02")  # mx_ttl 3600: the lowered TTL needs one day
    assert ttl_lead_days(client) == 1
    assert window_warnings(client, TODAY)[0][1] == (
        "The window 2026-12-02 is 1 day away; the plan needs 9 (MX TTL lowered 1 day ahead, "
        "preparation and initial sync 9 days ahead): the earliest sensible window is 2026-12-10."
    )


def test_no_window_no_window_warning() -> None:
    assert window_warnings(client_of(), TODAY) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("exchange.servers", [{"name": "-EXCH01", "fqdn": "exch01.corp.local"}]),
        ("exchange.servers", [{"name": "EXCH01", "fqdn": "-exch01.corp.local"}]),
        ("rpc_proxy.public_fqdn", "-mail.testclient.com"),
        ("rpc_proxy.certificate_name", "-mail.testclient.com"),
        ("office365.admin", "-admin@testclient.onmicrosoft.com"),
        ("office365.test_mailbox", "-jane@testclient.com"),
        ("office365.migration_account", "-CORP\\migadmin"),
        ("office365.migration_account", "CORP\\-migadmin"),
        ("office365.notification_emails", ["-it@testclient.com"]),
    ],
)
def test_no_value_that_lands_in_a_command_may_start_with_a_dash(field: str, value: Any) -> None:
    assert len(problems_of(client_dict(**{field: value}))) == 1


@pytest.mark.parametrize("value", ["yes", "0777", "1:00"])
def test_a_yaml_11_word_where_a_date_is_expected_gets_the_date_message(value: str) -> None:
    text = yaml.safe_dump(client_dict()) + f"window: {value}\n"
    [line] = problems_of(text)
    assert line.endswith(f"window: '{value}' is not a date written YYYY-MM-DD, e.g. 2026-12-05")
