"""Stage "load": every YAML construct we do not support, every YAML 1.1 trap, every encoding
and file-system surprise is one located line with the fix, never a traceback or a leaked value."""

# ruff: noqa: E501  (the tables of cases read best one case a line)

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.errors import ClientFileError
from generator.load import (
    MAX_BYTES,
    find_secret,
    load_document,
    parse_document,
    read_source,
)
from generator.model import validate_document
from tests.conftest import EXAMPLES, FIXTURE_CLIENTS, ROOT, Run
from tests.test_bad_input import GOOD, sub

NAME = "runbooks/acme.yml"


def problems(text: str | bytes) -> list[str]:
    """Every problem line of a client file's text, or [] when it is valid."""
    data = text.encode() if isinstance(text, str) else text
    try:
        validate_document(parse_document(data, NAME))
    except ClientFileError as exc:
        return exc.lines()
    return []


def with_pack(value: str) -> str:
    return sub("service_pack: 2", f"service_pack: {value}")


def with_gc(value: str) -> str:
    return sub(
        "      fqdn: exch01.acme.local\n",
        f"      fqdn: exch01.acme.local\n      global_catalog: {value}\n",
    )


def with_ttl(value: str) -> str:
    return sub("    mx_target:", f"    mx_ttl: {value}\n    mx_target:")


def with_office(line: str) -> str:
    return sub("  test_mailbox", f"  {line}\n  test_mailbox")


# (id, file text, the exact problem line after "runbooks/acme.yml:")
YAML_11_TRAPS = [
    ("pack-no", with_pack("no"), "3:17: exchange.service_pack: no is a yes/no word in YAML, not a number: write 0, 1 or 2, not no"),
    ("pack-yes", with_pack("yes"), "3:17: exchange.service_pack: yes is a yes/no word in YAML, not a number: write 0, 1 or 2, not yes"),
    ("pack-off", with_pack("Off"), "3:17: exchange.service_pack: Off is a yes/no word in YAML, not a number: write 0, 1 or 2, not Off"),
    ("pack-octal", with_pack("02"), "3:17: exchange.service_pack: 02 has a leading zero, which YAML reads as the octal number 2: write 2 (or 2 if you meant that)"),
    ("gc-yes", with_gc("yes"), "7:23: exchange.servers[0].global_catalog: write true, not yes: only true and false are yes/no values here"),
    ("gc-no", with_gc("no"), "7:23: exchange.servers[0].global_catalog: write false, not no: only true and false are yes/no values here"),
    ("gc-on", with_gc("ON"), "7:23: exchange.servers[0].global_catalog: write true, not ON: only true and false are yes/no values here"),
    ("gc-off", with_gc("off"), "7:23: exchange.servers[0].global_catalog: write false, not off: only true and false are yes/no values here"),
    ("ttl-octal", with_ttl("0777"), "15:13: domains[0].mx_ttl: 0777 has a leading zero, which YAML reads as the octal number 511: write 777 (or 511 if you meant that)"),
    ("ttl-sexagesimal", with_ttl("1:00"), "15:13: domains[0].mx_ttl: 1:00 is read as a base-60 number (60) in YAML: write the plain number (a TTL in seconds, e.g. 3600)"),
    ("ttl-hex", with_ttl("0x1F"), "15:13: domains[0].mx_ttl: write the number in decimal (31), not 0x1F"),
    ("ttl-binary", with_ttl("0b11"), "15:13: domains[0].mx_ttl: write the number in decimal (3), not 0b11"),
    ("ttl-underscore", with_ttl("3_600"), "15:13: domains[0].mx_ttl: write 3600 without underscores"),
    ("ttl-yes", with_ttl("yes"), "15:13: domains[0].mx_ttl: yes is a yes/no word in YAML, not a number: write the number itself, not yes"),
    ("concurrency-octal", with_office("concurrent_mailboxes: 010"), "12:25: office365.concurrent_mailboxes: 010 has a leading zero, which YAML reads as the octal number 8: write 10 (or 8 if you meant that)"),
    ("upstream-sexagesimal", GOOD + "network: {upstream_mbps: 1:30.5}\n", "16:26: network.upstream_mbps: 1:30.5 is read as a base-60 number (90.5) in YAML: write the plain number (a TTL in seconds, e.g. 3600)"),
    ("size-underscore", GOOD + "mailboxes: {total_gb: 1_000.5}\n", "16:23: mailboxes.total_gb: write 1000.5 without underscores"),
    ("text-yes", GOOD + "consultant: yes\n", '16:13: consultant: yes reads as a yes/no value in YAML; put text in quotes: "yes"'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in YAML_11_TRAPS], ids=[c[0] for c in YAML_11_TRAPS]
)
def test_every_yaml_11_trap_is_a_located_error_with_the_fix(text: str, expected: str) -> None:
    assert problems(text) == [f"{NAME}:{expected}"]


def test_plain_true_false_and_decimal_numbers_are_no_traps() -> None:
    text = with_ttl("7200").replace("service_pack: 2", "service_pack: 0")
    text = text.replace(
        "      fqdn: exch01.acme.local\n",
        "      fqdn: exch01.acme.local\n      global_catalog: True\n",
    )
    assert problems(text + "network: {upstream_mbps: 12.5}\n") == []


TAGS = ["!!bool maybe", "!!int ''", "!!float ''", "!!timestamp x", "!!str 5", "!custom x",
        "!!binary aGk=", "!!python/object:os.system x", "!!set {a: null}", "!!omap [a: 1]",
        "!!map {}", "!<tag:yaml.org,2002:int> 3", "&anchor !!int 7"]  # fmt: skip


@pytest.mark.parametrize("tagged", TAGS)
def test_every_explicit_tag_is_a_located_error(tagged: str) -> None:
    found = problems(with_ttl(tagged))
    assert found[0].startswith(f"{NAME}:15:13: domains[0].mx_ttl: "), found
    assert "not supported" in found[0]
    assert len(found) == 1, found


@pytest.mark.parametrize("tagged", TAGS)
def test_a_value_under_a_secret_key_is_never_shown(tagged: str) -> None:
    secret = "hunter2-" + tagged.replace(" ", "-")
    text = with_office(f"password: {tagged}") + f"api_token: {secret}\n"
    found = "\n".join(problems(text))
    assert "office365.password: looks like a credential" in found
    assert "api_token: looks like a credential" in found
    assert "hunter2" not in found
    assert "maybe" not in found and "os.system" not in found and "aGk=" not in found


def test_anchors_and_aliases_are_refused_where_they_are() -> None:
    text = GOOD.replace("exch01.acme.local", "&host exch01.acme.local") + "consultant: *host\n"
    assert problems(text) == [
        f"{NAME}:6:13: exchange.servers[0].fqdn: anchors (&name) and aliases (*name) are not "
        "supported in a client file: write the value out",
        f"{NAME}:16:1: consultant: anchors (&name) and aliases (*name) are not supported in a "
        "client file: write the value out",
    ]


def test_a_merge_key_is_refused() -> None:
    text = GOOD + "network:\n  <<: {upstream_mbps: 5}\n"
    assert problems(text) == [
        f"{NAME}:17:3: network: merge keys (<<) are not supported: write the fields out in full",
        f"{NAME}:17:3: network.upstream_mbps: is required",
    ]


# --- YAML mistakes in our words ----------------------------------------------------------------

MISTAKES = [
    ("tab", sub("  service_pack: 2", "\tservice_pack: 2"), "3:1: a tab: YAML indents with spaces only; replace the tab with spaces"),
    ("account-in-double-quotes", sub("ACME\\migadmin", '"ACME\\user"'), "11:29: a backslash inside double quotes starts an escape sequence: write a Windows account in single quotes, e.g. 'CORP\\user', or without quotes"),
    ("colon-in-value", GOOD + "consultant: Alex: on site\n", "16:17: ': ' inside a value starts a new field: put the whole value in single quotes, e.g. 'Note: keys at reception'"),
    ("indented-too-deep", sub("  servers:\n", "  servers:\n").replace("  admin:", "    admin:", 1).replace("office365:\n    admin: admin@acmewidgets.onmicrosoft.com\n", "office365: x\n    admin: admin@acmewidgets.onmicrosoft.com\n"), "10:10: this line is indented deeper than the field above, which already has a value: line it up with the fields of its section"),
    ("indented-too-little", sub("  migration_account", " migration_account"), "11:2: the indentation does not match the lines above: indent each field of a section by the same number of spaces, and each list entry ('- ') the same way"),
    ("unclosed-quote", GOOD + "consultant: 'Alex\n", "17:1: a quote is opened but never closed: close it on the same line"),
    ("at-sign", GOOD + "consultant: @alex\n", "16:13: a value cannot start with '@' in YAML: put the value in single quotes"),
    ("quote-inside-quotes", sub("Acme Widgets", '"Bob\'s "Best" Shop"'), "1:17: text goes on after the value's closing quote: a quote of the same kind inside a quoted value ends it. Put the value in single quotes and write each ' inside it twice, e.g. 'Bob''s \"Best\" Shop'"),
    ("control-character", sub("Acme Widgets", "Acme\x1bWidgets"), "1:13: an invisible control character (escape, U+001B) is in the file, often brought by a paste: delete it and type the text again"),
    ("date-day-first", GOOD + "window: 05/12/2026\n", "16:9: window: '05/12/2026' is not a date written YYYY-MM-DD, e.g. 2026-12-05"),
    ("date-short-day", GOOD + "window: 2026-12-5\n", "16:9: window: '2026-12-5' is not a date written YYYY-MM-DD, e.g. 2026-12-05"),
    ("number-exponent", GOOD + "mailboxes: {count: 1e3}\n", "16:20: mailboxes.count: expected a whole number, found '1e3' (write it in plain digits, e.g. 1000)"),
    ("number-quoted", GOOD + "mailboxes: {count: '42'}\n", "16:20: mailboxes.count: expected a whole number, found '42' (write it without quotes)"),
    ("homoglyph", sub("mail.acmewidgets.com", "mail.acmewid\u0433ets.com"), "8:16: rpc_proxy.public_fqdn: 'mail.acmewid\u0433ets.com' is not a valid DNS name ('\u0433' is CYRILLIC SMALL LETTER GHE, not a letter a-z): use letters, digits and dashes between dots"),
    ("email-leading-dash", sub("jane@acmewidgets.com", "-jane@acmewidgets.com"), "12:17: office365.test_mailbox: '-jane@acmewidgets.com': the part before @ cannot start with '-'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in MISTAKES], ids=[c[0] for c in MISTAKES]
)
def test_yaml_mistakes_are_one_line_with_the_fix(text: str, expected: str) -> None:
    assert problems(text) == [f"{NAME}:{expected}"]


@pytest.mark.parametrize("account", ["ACME\\admin", "ACME\\nick", "ACME\\tom", "ACME\\bob"])
def test_an_account_in_double_quotes_with_a_valid_escape_is_refused(account: str) -> None:
    # \a, \n, \t and \b are valid escapes: YAML would silently read another account
    assert problems(sub("ACME\\migadmin", f'"{account}"')) == [
        f"{NAME}:11:22: office365.migration_account: a backslash inside double quotes starts an "
        "escape sequence: write a Windows account in single quotes, e.g. 'CORP\\user', or "
        "without quotes"
    ]


def test_an_account_in_single_quotes_or_none_is_fine() -> None:
    assert problems(sub("ACME\\migadmin", "'ACME\\migadmin'")) == []
    assert problems(sub("ACME\\migadmin", '"ACME\\\\migadmin"')) == []


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert problems(b"\xef\xbb\xbf" + GOOD.encode()) == []


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + GOOD.encode("utf-16-le"),
        b"\xfe\xff" + GOOD.encode("utf-16-be"),
        GOOD.encode("utf-16-le"),
    ],
    ids=["le-bom", "be-bom", "le-no-bom"],
)
def test_a_utf16_file_is_refused_with_the_fix(data: bytes) -> None:
    assert problems(data) == [
        f"{NAME}:1:1: the file is saved as UTF-16; save it as UTF-8 (any editor's encoding menu)"
    ]


# --- size, links and file names ----------------------------------------------------------------


def test_a_huge_sparse_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as out:
        out.truncate(3 * 1024**3)  # 3 GB, sparse: costs nothing on disk
    started = time.monotonic()
    with pytest.raises(ClientFileError) as caught:
        load_document(path)
    assert time.monotonic() - started < 1.0
    assert caught.value.lines() == [
        f"{path}:1:1: the file is larger than 1024 KiB; is it a client file?"
    ]


def test_a_file_just_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_bytes(b"client: x\n" + b"#" * (MAX_BYTES - 9))
    with pytest.raises(ClientFileError, match="larger than 1024 KiB"):
        load_document(path)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_larger_than_its_size_said_is_read_whole() -> None:
    # a file of /proc says size 0 and holds more, as a file growing while it is read would
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    data = read_source(status, "status")
    assert data.startswith(b"Name:") and data.count(b"\n") > 10


def test_a_pipe_or_device_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yml"
    os.mkfifo(pipe)
    for path in [pipe, Path("/dev/zero")]:
        with pytest.raises(ClientFileError) as caught:
            load_document(path)
        assert caught.value.lines() == [f"{path}:1:1: is not a regular file"]


def test_a_link_to_a_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yml"
    outside.write_text(GOOD, encoding="utf-8")
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "acme.yml").symlink_to(outside)
    (folder / "real.yml").write_text(GOOD, encoding="utf-8")
    (folder / "alias.yml").symlink_to("real.yml")
    with pytest.raises(ClientFileError) as caught:
        load_document(folder / "acme.yml")
    assert caught.value.lines() == [
        f"{folder / 'acme.yml'}:1:1: is a link to a file outside its folder; client files are "
        "read only from the folder itself: copy the file here instead of linking to it"
    ]
    assert load_document(folder / "alias.yml").data["client"] == "Acme Widgets"


def test_validate_refuses_a_linked_file_in_runbooks(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    (tmp_path / "secret.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "acme.yml").symlink_to(tmp_path / "secret.yml")
    result = cli("validate", cwd=tmp_path)
    assert result.code == 2
    assert "runbooks/acme.yml:1:1: is a link to a file outside its folder" in result.err


def test_yaml_files_are_read_like_yml_files(tmp_path: Path, cli: Callable[..., Run]) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "acme.yaml").write_text(GOOD, encoding="utf-8")
    for args in [(), ("acme",)]:
        out = cli("validate", *args, cwd=tmp_path).out
        assert out.splitlines()[-1].startswith("runbooks/acme.yaml: ok"), out
    values = cli("values", "runbooks/acme.yaml", "--json", cwd=tmp_path)
    assert values.code == 0, values.err
    assert '"slug": "acme"' in values.out


def test_one_slug_in_two_files_is_an_error(tmp_path: Path, cli: Callable[..., Run]) -> None:
    (tmp_path / "runbooks").mkdir()
    for suffix in (".yml", ".yaml"):
        (tmp_path / "runbooks" / f"acme{suffix}").write_text(GOOD, encoding="utf-8")
    result = cli("validate", cwd=tmp_path)
    assert result.code == 2
    assert (
        result.err.strip() == "runbooks/acme.yml and .yaml: one client, two files; keep one of them"
    )


# --- running from anywhere in the project ------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's shape: mkdocs.yml, runbooks/ with one example, a docs folder."""
    root = tmp_path / "project"
    (root / "runbooks").mkdir(parents=True)
    (root / "docs" / "guides").mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copy(ROOT / "runbooks" / "northwind-traders.yml", root / "runbooks")
    return root


def test_commands_find_the_project_from_a_subfolder(project: Path, cli: Callable[..., Run]) -> None:
    deep = project / "docs" / "guides"
    result = cli("validate", cwd=deep)
    assert result.code == 0, result.err
    assert "../../runbooks/northwind-traders.yml: ok" in result.out
    values = cli("values", "northwind-traders", "--json", cwd=deep)
    assert values.code == 0, values.err
    assert '"slug": "northwind-traders"' in values.out


def test_a_path_works_wherever_a_slug_does(project: Path, cli: Callable[..., Run]) -> None:
    deep = project / "docs"
    for name in [
        "../runbooks/northwind-traders.yml",
        str(project / "runbooks/northwind-traders.yml"),
    ]:
        assert cli("validate", name, cwd=deep).code == 0
        assert '"slug": "northwind-traders"' in cli("values", name, "--json", cwd=deep).out
    assert cli("values", "runbooks/northwind-traders.yml", cwd=project).code == 0


def test_the_runbooks_option_and_variable_still_win(
    project: Path, tmp_path: Path, cli: Callable[..., Run]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "acme.yml").write_text(GOOD, encoding="utf-8")
    result = cli("validate", "--runbooks", str(other), cwd=project / "docs")
    assert result.out.splitlines()[-1].startswith(f"{other}/acme.yml: ok"), result
    env_run = _run_with_env(project / "docs", RUNBOOKS_DIR=str(other))
    assert env_run.splitlines()[-1].startswith(f"{other}/acme.yml: ok"), env_run


def _run_with_env(cwd: Path, **env: str) -> str:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "generator", "validate"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --- credentials written into values -----------------------------------------------------------

SECRETS = [
    ("notes-password", GOOD + "notes: |\n  Keys at reception.\n  Admin password: Winter2026!\n", "18:9: notes: looks like a password written down"),
    ("notes-pwd", GOOD + "notes: 'VPN pwd=Sommer2026'\n", "16:13: notes: looks like a password written down"),
    ("notes-passwort", GOOD + "notes: |\n  Passwort: geheim123\n", "17:3: notes: looks like a password written down"),
    ("notes-kennwort", GOOD + "notes: |\n  Das Kennwort = Fruehling\n", "17:7: notes: looks like a password written down"),
    ("notes-mot-de-passe", GOOD + "notes: |\n  Le mot de passe : Hiver2026\n", "17:6: notes: looks like a password written down"),
    ("account-with-password", sub("ACME\\migadmin", "'ACME\\migadmin:Winter2024'"), "11:23: office365.migration_account: looks like a password written down"),
    ("notes-said", GOOD + "notes: |\n  Local admin password Start123!\n", "17:15: notes: looks like a password written down"),
    ("notes-address", GOOD + "notes: 'OWA https://jane:S3cretPass@mail.acme.com/owa'\n", "16:13: notes: looks like a password written down"),
    ("notes-network-pair", GOOD + "notes: |\n  Reception PC.\n  Guest Wi-Fi: NW-Guest / Summer2024!\n", "18:9: notes: looks like a password written down"),
    ("notes-account-pair", GOOD + "notes: 'Login: jsmith/Passw0rd!'\n", "16:9: notes: looks like a password written down"),
    ("notes-network-key", GOOD + "notes: |\n  SSID: Northwind, key Summer2024!\n", "17:3: notes: looks like a password written down"),
    ("notes-lowercase-said", GOOD + "notes: 'the wifi password is bluehorse42'\n", "16:18: notes: looks like a password written down"),
    ("notes-lowercase-lautet", GOOD + "notes: |\n  Das Kennwort lautet sommer2024\n", "17:7: notes: looks like a password written down"),
    ("consultant-token", GOOD + "consultant: Alex ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x\n", "16:18: consultant: looks like a key or token"),
    ("client-hex-key", sub("Acme Widgets", "Acme 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"), "1:14: client: looks like a key or token"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in SECRETS], ids=[c[0] for c in SECRETS]
)
def test_a_credential_in_a_value_is_located_and_never_shown(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"{NAME}:{expected}")
    for secret in [
        "Winter2026",
        "Sommer2026",
        "geheim123",
        "Fruehling",
        "Hiver2026",
        "ghp_",
        "9f86d",
        "Start123",
        "S3cretPass",
        "Summer2024",
        "Passw0rd",
        "bluehorse42",
        "sommer2024",
    ]:
        assert secret not in found[0]


@pytest.mark.parametrize(
    "text",
    [
        "pw " * 30_000,
        "password is ab " * 6_000 + "\n",
        "Login: jsmith / passwd " * 4_000,
        "user " + "a" * 45_000 + " " * 45_000 + "/b",
        "WLAN-" + "a" * 90_000,
        "wifi " * 18_000 + "key " + "a" * 90_000,
        # each account word starts a try at a pair: its name is bounded (20 s before)
        "user:" * 20_000 + "/x",
        # a saying's blanks are tried from the first of a run (2.4 s for 20,000 before)
        "password x" + " " * 90_000,
    ],
)
def test_a_value_full_of_password_words_is_judged_in_time(text: str) -> None:
    # each word naming a password looks a few words on for what it says: reading to the line's
    # end from each took 67 s of CPU for these 90 KB (a client file may hold 1 MiB)
    rounds = []
    for _ in range(3):
        start = time.process_time()
        assert find_secret(text) is None
        rounds.append(time.process_time() - start)
    assert min(rounds) < 1.0, rounds


@pytest.mark.parametrize(
    "text",
    [
        "The password is typed on site by the office manager.",
        "Ask Priya (reception) for the server room key.",
        "Batch Northwind-Traders-Cutover-2024 runs over the weekend.",
        "Tenant 6f1b1b8e-3c4a-4e2b-9f0d-1a2b3c4d5e6f, MX northwind-com.mail.protection.outlook.com",
        "Guide: https://learn.microsoft.com/en-us/exchange/mailbox-migration/cutover-migration",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "The password for EXCH01 is in the vault.",
        "Password expires in 2024; the password of migadmin2 is with Priya.",
        "Migration account NORTHWIND\\migadmin, password typed on site.",
        "Credentials are typed on site. Pass through mail.acme.com:443 only.",
        "Use https://mail.acme.com/rpc/rpcproxy.dll?exch01:6001 and HKLM\\SOFTWARE\\Rpc",
        "Password never expires for ACME\\svc-scan2 (the scanner).",
        "The password for Office365 is in the vault.",
        "Password for the SonicWall TZ370 is in Keeper; Office365 admin is admin@acme.com.",
        "Password policy: 12 characters, changed every 90 days (Office365 default).",
        "The network key is in the safe; the server room key is with reception.",
        "Pinging mail.northwind.com shows 10.0.0.5: see the spinner on the keyboard.",
        "Ask for the Wi-Fi key at reception (Priya).",
        "Keyboard and mouse: in the cupboard. Spin up EXCH01 last.",
        "Pin Office365 and Teams to the taskbar for every user.",
        "pin Outlook2016 to the taskbar",
        "PIN-protected printer: HP4250dtn",
        "Pin 3 of the serial cable is unused.",
        # a slash between names, versions, dates, paths and addresses
        "SBS 2003 / Windows2003R2",
        # two networks' or products' names in a pair are no password
        "Wi-Fi: Northwind / Northwind-5G",
        "SSID: NORTHWIND / Northwind5G (both WPA2)",
        "hotspot: iPhone / Pixel7a as backup",
        "logon: Win7 / Win10Pro",
        "Anmeldung: Terminalserver / RDP-Port3389",
        "WLAN access point is in the cabinet; key: Cab-07B",
        # a property of a password, not one
        "password is 14chars minimum",
        "Kennwort ist 12stellig",
        "Password is o365-synced",
        "password is AES-256",
        "WLAN: Büro / Lager2",
        "Wi-Fi is Office / Guest2",
        "Exchange 2003 SP2 / Outlook 2010",
        "the ACME-Copier / Scan2Mail folder",
        "Mailboxes move on 12/05/2026; the user guide is in C:\\Program Files/App.",
        "User PCs: Win7 / Office2010",
        "user mailboxes: Exchange 2003 / Outlook2010",
        "Login page: https://portal.acme.com/owa/Logon2024",
        "User-Agent: Mozilla/5.0 (Windows NT 6.1)",
        "WLAN: Cisco/Meraki MR42 on 2.4/5GHz",
        "Account lockout after 5/10 tries; creds in Keeper/IT-Vault.",
        "SSID: Northwind, key at reception",
        # a password said to be something other than itself
        "the password is typed on site",
        "password is changed after the migration",
        "the password is in the safe",
        "password is required",
        "Password is required!",
        "Das Kennwort ist 12-stellig.",
        "Password is typed/pasted on site.",
        "Passwort ist 90 Tage gültig, das Kennwort lautet wie im Vorjahr.",
        "Password is self-service.",
    ],
)
def test_ordinary_prose_is_not_taken_for_a_credential(text: str) -> None:
    assert find_secret(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Password is Summer2024!",
        "local admin: administrator, password Start123!",
        "pw Winter2023!",
        "passcode: 123456",
        "https://user:S3cretPass@mail.northwind.com/owa",
        "Kennwort lautet Geheim123",
        "creds admin/Passw0rd!",
        "NORTHWIND\\migadmin:Winter2024",
        "Le mot de passe est Hiver2026.",
        # named first, said a few words on
        "The password for migadmin is Winter2024!",
        "Password (migadmin): Winter2024!",
        "pw for the NAS: Tulip77x",
        "password of the firewall is Fw#2024ab",
        "Password - Summer2024!",
        "Kennwort für migadmin: Geheim123",
        "Passwort lautet: Geheim123",
        "Creds: migadmin Winter2024!",
        "The secret is Summer2024!",
        # the keys and codes that open a network or a device
        "wifi key: Gu3stNet!",
        "Wi-Fi key for the office is Summer2024!",
        "WLAN-Schlüssel: Fruehling2024",
        "WPA2 key = Tulip77xQ",
        "PSK: Sunflower2024",
        "Alarm PIN: 4711",
        "pin code = 0815",
        "PIN 4711",
        "the alarm PIN is 123456",
        "PIN lautet 4711",
        "SIM PIN 1234",
        "Handy-PIN 1234",
        "WLAN-Schluessel: Summer2024!",
        "Wi\u2011Fi key: Gu3stNet!",
        # a network or an account named, then its name and password as a pair
        "Guest Wi-Fi: NW-Guest / Summer2024!",
        "WLAN NW-Office / Frühling2025#",
        "Login: jsmith / Passw0rd!",
        "Login: jsmith/Passw0rd!",
        "user admin / Start123!",
        "Benutzer admin/Start123!",
        "Anmeldung: admin / Start123!",
        "utilisateur : admin / Bonjour2024!",
        "username=jsmith/Passw0rd!",
        "WLAN (Gäste): NW-Guest / Summer2024!",
        "Gast-WLAN: NW-Guest / Sommer2024!",
        "hotspot NW-Mobile / Summer2024",
        "Guest network NW-Guest/Summer2024!",
        "SSID: Northwind, key Summer2024!",
        "Wi-Fi NW-Guest, Schlüssel Fruehling2024",
        # the weak passwords' shapes: a closing digit, a digit for a letter
        "Login: jsmith / Passw0rd",
        "user: admin / Start123",
        "WLAN NW-Office / Welcome1",
        "Wi-Fi: NW-Guest / Summer24",
        "SSID: Northwind, key Passw0rd",
        # said right after the word, in lower case
        "the wifi password is bluehorse42",
        "password is bluehorse42",
        "Kennwort lautet sommer2024",
        "Passwort lautet sommer2024",
        "password is blue#horse",
        "the wifi password is blue-horse42",
    ],
)
def test_a_password_said_in_words_is_found(text: str) -> None:
    assert find_secret(text) is not None


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *EXAMPLES.glob("*.yml"),
            *FIXTURE_CLIENTS.glob("*.yml"),
            *(ROOT / "tests" / "fixtures").glob("valid/*.yml"),
            *(ROOT / "tests" / "fixtures").glob("drafts/*.yml"),
        ]
    ),
    ids=lambda path: path.name,
)
def test_the_example_clients_hold_nothing_taken_for_a_credential(path: Path) -> None:
    # their notes are the prose consultants write: a rule that refuses it refuses real files
    document = parse_document(path.read_bytes(), path.name)
    assert [str(p) for p in document.problems if "credential" in p.message] == []
