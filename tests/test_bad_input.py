"""Malformed client files: each gets `file:line:col: path: reason`, exit 2, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run

GOOD = """\
client: Acme Widgets
exchange:
  service_pack: 2
  servers:
    - name: EXCH01
      fqdn: exch01.acme.local
rpc_proxy:
  public_fqdn: mail.acmewidgets.com
office365:
  admin: admin@acmewidgets.onmicrosoft.com
  migration_account: ACME\\migadmin
  test_mailbox: jane@acmewidgets.com
domains:
  - name: acmewidgets.com
    mx_target: acmewidgets-com.mail.protection.outlook.com
"""


def sub(old: str, new: str) -> str:
    """The good file with one piece of text replaced."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


BILLION_LAUGHS = (
    GOOD
    + 'notes: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + "".join(
        f"n{i}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(8)
    )
)

# (id, file text, expected "line:col: path: reason" fragment)
CASES: list[tuple[str, str | bytes, str]] = [
    (
        "misspelt-key",
        sub("public_fqdn", "public_fqnd"),
        "8:3: rpc_proxy.public_fqnd: unknown field 'public_fqnd'; did you mean 'public_fqdn'?",
    ),
    (
        "misplaced-key",
        sub("  test_mailbox", "  public_fqdn: x.y.com\n  test_mailbox"),
        "12:3: office365.public_fqdn: unknown field 'public_fqdn' here; it belongs under rpc_proxy",
    ),
    (
        "unknown-top-level",
        GOOD + "notez: hello\n",
        "16:1: notez: unknown field 'notez'; did you mean 'notes'?",
    ),
    (
        "space-in-host",
        sub("exch01.acme.local", "exch01 acme.local"),
        "6:13: exchange.servers[0].fqdn: a space is not allowed here",
    ),
    (
        "semicolon-in-host",
        sub("mail.acmewidgets.com", "mail.acmewidgets.com;calc"),
        "8:16: rpc_proxy.public_fqdn: ';' is not allowed here",
    ),
    (
        "ampersand-in-host",
        sub("mail.acmewidgets.com", '"mail.acmewidgets.com&&del"'),
        "8:16: rpc_proxy.public_fqdn: '&' is not allowed here",
    ),
    (
        "dollar-in-host",
        sub("mail.acmewidgets.com", '"$(whoami).acmewidgets.com"'),
        "8:16: rpc_proxy.public_fqdn: '$' is not allowed here",
    ),
    (
        "backtick-in-name",
        sub("name: EXCH01", 'name: "EX`CH"'),
        "5:13: exchange.servers[0].name: '`' is not allowed here",
    ),
    (
        "quote-in-email",
        sub("jane@acmewidgets.com", '"ja\'ne@acmewidgets.com"'),
        '12:17: office365.test_mailbox: "\'" is not allowed here',
    ),
    (
        "pipe-in-account",
        sub("ACME\\migadmin", '"ACME\\\\mig|admin"'),
        "11:22: office365.migration_account: '|' is not allowed here",
    ),
    (
        "fqdn-without-dot",
        sub("fqdn: exch01.acme.local", "fqdn: exch01"),
        "6:13: exchange.servers[0].fqdn: 'exch01' is not fully qualified: it needs a dot",
    ),
    (
        "netbios-too-long",
        sub("name: EXCH01", "name: EXCHANGESERVER01"),
        "5:13: exchange.servers[0].name: 'EXCHANGESERVER01' is not a NetBIOS name",
    ),
    (
        "netbios-leading-dash",
        sub("name: EXCH01", "name: -EXCH01"),
        "5:13: exchange.servers[0].name: '-EXCH01' is not a NetBIOS name",
    ),
    (
        "password-key",
        sub("  test_mailbox", "  password: hunter2\n  test_mailbox"),
        "12:3: office365.password: looks like a credential",
    ),
    ("token-key", GOOD + "api_token: abc\n", "16:1: api_token: looks like a credential"),
    (
        "duplicate-key",
        sub("  service_pack: 2\n", "  service_pack: 2\n  service_pack: 1\n"),
        "4:3: exchange.service_pack: duplicate key; already given on line 3",
    ),
    (
        "boolean-where-text",
        GOOD + "consultant: no\n",
        '16:13: consultant: no reads as a yes/no value in YAML; put text in quotes: "no"',
    ),
    (
        "number-where-text",
        sub("client: Acme Widgets", "client: 1984"),
        '1:9: client: 1984 reads as a number in YAML; put text in quotes: "1984"',
    ),
    ("empty-file", "", "1:1: the file is empty"),
    ("only-comments", "# nothing yet\n", "1:1: the file is empty"),
    (
        "not-utf8",
        sub("Acme Widgets", "Acme W\xefdgets").encode("latin-1"),
        "1:15: byte 0xef is not UTF-8",
    ),
    ("syntax-error", sub("  servers:\n", "  servers: [\n"), "YAML syntax:"),
    (
        "tab-indent",
        sub("  service_pack: 2", "\tservice_pack: 2"),
        "3:1: a tab: YAML indents with spaces only; replace the tab with spaces",
    ),
    (
        "list-at-top",
        "- client: Acme\n",
        "1:1: expected a mapping of fields at the top, found a list",
    ),
    (
        "list-where-mapping",
        sub(
            "rpc_proxy:\n  public_fqdn: mail.acmewidgets.com",
            "rpc_proxy:\n  - mail.acmewidgets.com",
        ),
        "8:3: rpc_proxy: expected a mapping of fields, found a list",
    ),
    (
        "missing-section",
        sub(
            "office365:\n  admin: admin@acmewidgets.onmicrosoft.com\n"
            "  migration_account: ACME\\migadmin\n"
            "  test_mailbox: jane@acmewidgets.com\n",
            "",
        ),
        "1:1: office365: is required",
    ),
    (
        "missing-field",
        sub("  public_fqdn: mail.acmewidgets.com\n", "  authentication: basic\n"),
        "8:3: rpc_proxy.public_fqdn: is required",
    ),
    (
        "no-servers",
        sub("  servers:\n    - name: EXCH01\n      fqdn: exch01.acme.local\n", "  servers: []\n"),
        "4:12: exchange.servers: needs at least one entry",
    ),
    (
        "account-without-domain",
        sub("ACME\\migadmin", "migadmin"),
        "11:22: office365.migration_account: 'migadmin' must be written DOMAIN\\user",
    ),
    (
        "bad-email",
        sub("admin@acmewidgets.onmicrosoft.com", "admin@"),
        "10:10: office365.admin: 'admin@': the domain part is not valid",
    ),
    (
        "batch-name-with-space",
        GOOD.replace("  test_mailbox", '  batch_name: "my batch"\n  test_mailbox'),
        "12:15: office365.batch_name: 'my batch': a batch name may hold only letters",
    ),
    (
        "too-many-mailboxes",
        GOOD + "mailboxes: {count: 2001}\n",
        "16:20: mailboxes.count: must be less than or equal to 2000",
    ),
    (
        "concurrency-zero",
        sub("  test_mailbox", "  concurrent_mailboxes: 0\n  test_mailbox"),
        "12:25: office365.concurrent_mailboxes: must be greater than or equal to 1",
    ),
    (
        "concurrency-quoted",
        sub("  test_mailbox", '  concurrent_mailboxes: "3"\n  test_mailbox'),
        "12:25: office365.concurrent_mailboxes: expected a whole number, found '3' "
        "(write it without quotes)",
    ),
    (
        "service-pack-3",
        sub("service_pack: 2", "service_pack: 3"),
        "3:17: exchange.service_pack: must be 0, 1 or 2",
    ),
    (
        "unknown-auth",
        sub(
            "  public_fqdn: mail.acmewidgets.com\n",
            "  public_fqdn: mail.acmewidgets.com\n  authentication: kerberos\n",
        ),
        "9:19: rpc_proxy.authentication: must be 'basic' or 'ntlm'",
    ),
    (
        "mx-target-not-exchange-online",
        sub("acmewidgets-com.mail.protection.outlook.com", "mx1.acmewidgets.com"),
        "15:16: domains[0].mx_target: 'mx1.acmewidgets.com' is not an Exchange Online MX host",
    ),
    (
        "placeholder-host",
        sub("mail.acmewidgets.com", "mail.example.com"),
        "8:16: rpc_proxy.public_fqdn: 'example.com' looks like a placeholder",
    ),
    ("impossible-date", GOOD + "window: 2026-13-01\n", "16:9: window: cannot read '2026-13-01'"),
    (
        "duplicate-server",
        sub(
            "      fqdn: exch01.acme.local\n",
            "      fqdn: exch01.acme.local\n    - name: EXCH01\n      fqdn: exch02.acme.local\n",
        ),
        "exchange.servers[1]: EXCH01 is already listed at exchange.servers[0]",
    ),
    ("billion-laughs", BILLION_LAUGHS, "16:8: notes: anchors (&name) and aliases (*name) are not"),
    ("deep-nesting", GOOD + "notes: " + "[" * 200 + "]" * 200 + "\n", "too deep"),
    (
        "explicit-tag",
        sub("service_pack: 2", "service_pack: !!bool maybe"),
        "3:17: exchange.service_pack: explicit YAML tags",
    ),
    (
        "tag-with-empty-int",
        GOOD + "mailboxes: {count: !!int ''}\n",
        "16:20: mailboxes.count: explicit YAML tags",
    ),
    (
        "yaml-11-no",
        sub("service_pack: 2", "service_pack: no"),
        "3:17: exchange.service_pack: no is a yes/no word in YAML, not a number: "
        "write 0, 1 or 2, not no",
    ),
    (
        "yaml-11-octal",
        sub("  - name: acmewidgets.com\n", "  - name: acmewidgets.com\n    mx_ttl: 0777\n"),
        "15:13: domains[0].mx_ttl: 0777 has a leading zero",
    ),
    (
        "account-in-double-quotes",
        sub("ACME\\migadmin", '"ACME\\user"'),
        "11:29: a backslash inside double quotes starts an escape sequence: "
        "write a Windows account in single quotes",
    ),
    (
        "colon-in-value",
        GOOD + "consultant: Alex: on site\n",
        "16:17: ': ' inside a value starts a new field: put the whole value in single quotes",
    ),
    ("utf-16", GOOD.encode("utf-16"), "1:1: the file is saved as UTF-16; save it as UTF-8"),
    (
        "password-in-notes",
        GOOD + "notes: |\n  Door code and password: Tulip77\n",
        "17:17: notes: looks like a password written down",
    ),
    (
        "local-mail-domain",
        sub("  - name: acmewidgets.com", "  - name: acme.local"),
        "14:11: domains[0].name: 'acme.local' ends in .local",
    ),
    (
        "batch-name-parameter",
        GOOD.replace("  test_mailbox", "  batch_name: -WhatIf\n  test_mailbox"),
        "12:15: office365.batch_name: '-WhatIf' starts with '-'",
    ),
    (
        "bidi-in-client",
        sub("client: Acme Widgets", 'client: "Acme \\u202Eevil"'),
        "1:9: client: holds U+202E",
    ),
    (
        "merge-key",
        GOOD + "base: &b {a: 1}\nother:\n  <<: *b\n",
        "18:3: other: merge keys (<<) are not supported: write the fields out in full",
    ),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_file_is_reported_with_position_path_and_reason(
    content: str | bytes,
    expected: str,
    write_client: Callable[..., Path],
    cli: Callable[..., Run],
    tmp_path: Path,
) -> None:
    path = write_client(content, slug="acme")
    result = cli("validate", str(path), cwd=tmp_path)
    assert result.code == 2, result
    assert "Traceback" not in result.err + result.out
    lines = result.err.strip().splitlines()
    assert lines, result
    for line in lines:
        assert line.startswith(f"{path}:"), line
    assert any(expected in line for line in lines), (expected, lines)
    assert "Tulip77" not in result.err + result.out


def test_three_different_problems_give_three_messages_in_one_run(
    write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    content = sub("public_fqdn", "public_fqnd")
    content = content.replace("exch01.acme.local", "exch01 acme.local")
    content = content.replace("  test_mailbox", "  password: hunter2\n  test_mailbox")
    path = write_client(content, slug="acme")
    result = cli("validate", str(path), cwd=tmp_path)
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{path}:6:13: exchange.servers[0].fqdn: a space is not allowed here: it could break "
        "the command line this value goes into",
        f"{path}:8:3: rpc_proxy.public_fqnd: unknown field 'public_fqnd'; did you mean "
        "'public_fqdn'?",
        f"{path}:12:3: office365.password: looks like a credential: passwords and other "
        "secrets are typed on site when asked, never written into a client file; remove this key",
    ]
    assert "hunter2" not in result.err + result.out


def test_the_good_file_is_valid(
    write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    path = write_client(GOOD, slug="acme")
    result = cli("validate", str(path), cwd=tmp_path)
    assert result.code == 0, result
    assert result.out.strip().splitlines()[-1].startswith(f"{path}: ok")


def test_bad_slug_in_file_name(
    write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    path = write_client(GOOD, slug="Acme_Widgets")
    result = cli("validate", str(path), cwd=tmp_path)
    assert result.code == 2
    assert "slug of lower-case letters" in result.err


def test_a_line_break_ending_the_slug_is_no_slug(
    write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    # a file named "acme\n.yml" passed as slug "acme\n", which went into the default batch
    # name (`Start-MigrationBatch -Identity acme` then a line `-cutover`) and split every
    # warning line of `validate`
    write_client(GOOD, slug="acme\n")
    result = cli("validate", "--runbooks", str(tmp_path / "runbooks"), cwd=tmp_path)
    assert result.code == 2, result
    assert result.err.splitlines() == [
        f"{tmp_path / 'runbooks'}/acme\\n.yml:1:1: the file name must be <slug>.yml with a slug "
        "of lower-case letters, digits and single dashes, e.g. northwind-traders"
    ]
    assert result.out == ""


@pytest.mark.parametrize("slug", ["con", "nul", "aux", "prn", "com1", "lpt9"])
def test_a_windows_device_name_is_no_slug(
    slug: str, write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    # the bundle's clients/con/ and handouts/con.pdf cannot be unpacked on Windows
    path = write_client(GOOD, slug=slug)
    result = cli("validate", str(path), cwd=tmp_path)
    assert result.code == 2, result
    assert result.err == (
        f"{path}:1:1: the file name must be <slug>.yml with a slug other than a name Windows "
        "keeps for a device (con, prn, aux, nul, com0-9, lpt0-9): the handout "
        f"{slug}.pdf and the offline bundle could not be saved or unpacked on Windows; e.g. "
        f"{slug}-traders\n"
    )
    path.unlink()
    made = cli("new", slug, "--runbooks", str(path.parent), cwd=tmp_path)
    assert made.code == 2 and made.err.startswith(f"'{slug}' is not a slug other than a name")
    assert list(path.parent.iterdir()) == []


def test_every_file_is_checked_and_all_problems_reported(
    write_client: Callable[..., Path], cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_client(GOOD, slug="good")
    write_client(sub("service_pack: 2", "service_pack: 3"), slug="bad-one")
    write_client("", slug="bad-two")
    result = cli("validate", "--runbooks", str(tmp_path / "runbooks"), cwd=tmp_path)
    assert result.code == 2
    assert "bad-one.yml:3:17: exchange.service_pack" in result.err
    assert "bad-two.yml:1:1: the file is empty" in result.err
    assert "good.yml: ok" in result.out
