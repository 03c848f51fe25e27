"""The command line's verbs: new, validate, values, render, schema."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run

# what a consultant types over each marker `runbook new` writes
FILLED = [
    ("FILL-IN client display name", "Acme Widgets"),
    ("FILL-IN-NETBIOS", "EXCH01"),
    ("FILL-IN.ad.fqdn", "exch01.acme.local"),
    ("FILL-IN.public.fqdn", "mail.acmewidgets.com"),
    ("FILL-IN@tenant.onmicrosoft.com", "admin@acmewidgets.onmicrosoft.com"),
    ("FILL-IN\\migadmin", "ACME\\migadmin"),
    ("FILL-IN.mail.domain", "acmewidgets.com"),
    ("draft: true", "draft: false"),
]


def test_new_writes_a_commented_file_that_fails_until_filled_in(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    result = cli("new", "acme-widgets", cwd=tmp_path)
    assert result.code == 0, result.err
    path = tmp_path / "runbooks" / "acme-widgets.yml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=client.schema.json\n")
    draft = cli("validate", "acme-widgets", cwd=tmp_path)
    assert draft.code == 0, draft.err
    assert "runbooks/acme-widgets.yml: draft: not published" in draft.out
    path.write_text(text.replace("draft: true", "draft: false"), encoding="utf-8")
    check = cli("validate", "acme-widgets", cwd=tmp_path)
    assert check.code == 2
    lines = check.err.splitlines()
    assert len(lines) == 7
    assert all("replace the FILL-IN marker" in line for line in lines)
    assert lines[0].startswith("runbooks/acme-widgets.yml:9:9: client:")


def filled_in(cli: Callable[..., Run], tmp_path: Path) -> tuple[Path, str]:
    """`runbook new acme-widgets` with every FILL-IN marker replaced: its path and text."""
    cli("new", "acme-widgets", cwd=tmp_path)
    path = tmp_path / "runbooks" / "acme-widgets.yml"
    text = path.read_text(encoding="utf-8")
    for marker, value in FILLED:
        text = text.replace(marker, value)
    path.write_text(text, encoding="utf-8")
    return path, text


def test_new_file_once_filled_in_is_valid(cli: Callable[..., Run], tmp_path: Path) -> None:
    filled_in(cli, tmp_path)
    result = cli("validate", "acme-widgets", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "warning: mx-target-unconfirmed" in result.out
    assert "runbooks/acme-widgets.yml: ok" in result.out


def test_new_records_no_mx_ttl_nobody_looked_up(cli: Callable[..., Run], tmp_path: Path) -> None:
    # a TTL written by `runbook new` read as the client's own: the runbook planned one day for
    # the lowered TTL and dropped mx-ttl-unknown, whatever the record's TTL really is
    path, text = filled_in(cli, tmp_path)
    data = json.loads(cli("values", "acme-widgets", "--json", cwd=tmp_path).out)
    assert data["dns"][0]["mx_ttl"] is None
    assert "mx-ttl-unknown" in [w["code"] for w in data["warnings"]]
    path.write_text(text.replace("    # mx_ttl: 3600 ", "    mx_ttl: 3600 "), encoding="utf-8")
    data = json.loads(cli("values", "acme-widgets", "--json", cwd=tmp_path).out)
    assert data["dns"][0]["mx_ttl"] == 3600


def test_new_lists_every_field_of_the_client_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    # the iis6-tls-1.0 warning says nothing is recorded in front of IIS 6: the file it asks
    # to fill in must show where to record it (rpc_proxy.tls_front)
    from generator.model import _SECTIONS

    cli("new", "acme-widgets", cwd=tmp_path)
    path = tmp_path / "runbooks" / "acme-widgets.yml"
    text = path.read_text(encoding="utf-8")
    missing = [
        f"{section}.{name}"
        for section, names in _SECTIONS.items()
        for name in names
        if not re.search(rf"(?:^|[\s{{,#-]){name}:", text, re.M)
    ]
    assert missing == []
    for marker, value in FILLED:
        text = text.replace(marker, value)
    path.write_text(text.replace("  # tls_front: ", "  tls_front: "), encoding="utf-8")
    result = cli("validate", "acme-widgets", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "iis6-tls-1.0" not in result.out


def test_new_outside_a_project_says_where_the_file_went(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    first = cli("new", "acme-widgets", cwd=tmp_path)
    assert first.code == 0, first.err
    assert (tmp_path / "runbooks" / "acme-widgets.yml").is_file()
    assert first.err.startswith("note: no project here")
    assert f"in {tmp_path} or above), so runbooks/ was made here" in first.err
    assert "move the file there, or pass --runbooks DIR" in first.err
    # the folder now exists: a second client, or a folder given, is no surprise
    assert cli("new", "acme-two", cwd=tmp_path).err == ""
    assert cli("new", "--runbooks", "elsewhere", "acme", cwd=tmp_path).err == ""
    inside = tmp_path / "project"
    (inside / "runbooks").mkdir(parents=True)
    (inside / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    assert cli("new", "acme", cwd=inside / "runbooks").err == ""
    assert (inside / "runbooks" / "acme.yml").is_file()


def test_new_never_overwrites(cli: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    existing = tmp_path / "runbooks" / "acme.yml"
    existing.write_text("client: mine\n")
    result = cli("new", "acme", cwd=tmp_path)
    assert result.code == 2
    assert "already exists" in result.err
    assert existing.read_text() == "client: mine\n"


def test_an_empty_client_file_says_how_to_start_again(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    # "run `runbook new SLUG`" alone led to "already exists; it is left as it is"
    (tmp_path / "runbooks").mkdir()
    empty = tmp_path / "runbooks" / "acme.yml"
    empty.write_text("# started, nothing yet\n")
    result = cli("validate", "acme", cwd=tmp_path)
    assert (result.code, result.err) == (
        2,
        "runbooks/acme.yml:1:1: the file is empty; delete it, then run `runbook new acme` for "
        "a commented start\n",
    )
    empty.unlink()
    assert cli("new", "acme", cwd=tmp_path).code == 0


def test_new_never_writes_a_second_file_for_a_client_in_yaml(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    # acme.yml beside acme.yaml: one client, two files, and every build stops
    (tmp_path / "runbooks").mkdir()
    existing = tmp_path / "runbooks" / "acme.yaml"
    existing.write_text("client: mine\n")
    result = cli("new", "acme", cwd=tmp_path)
    assert result.code == 2
    assert result.err == "runbooks/acme.yaml: already exists; it is left as it is\n"
    assert sorted(p.name for p in existing.parent.iterdir()) == ["acme.yaml"]


def test_new_refuses_a_bad_slug(cli: Callable[..., Run], tmp_path: Path) -> None:
    for slug in ["Acme", "acme widgets", "../escape", "acme--x", "-acme"]:
        result = cli("new", slug, cwd=tmp_path)
        assert result.code == 2, slug
        assert "Traceback" not in result.err
    assert not (tmp_path / "escape.yml").exists()


def test_a_slug_is_short_enough_for_the_names_made_from_it(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    # <slug>-endpoint and <slug>-cutover are written into New-MigrationEndpoint/-Batch -Name,
    # which the project caps at 64 characters, as it does an explicit batch_name
    longest = "a" * 54 + "b"
    assert cli("new", longest, cwd=tmp_path).code == 0
    text = (tmp_path / "runbooks" / f"{longest}.yml").read_text(encoding="utf-8")
    filled = text.replace("FILL-IN client display name", "Acme").replace("draft: true", "")
    for marker, value in [
        ("FILL-IN-NETBIOS", "EXCH01"),
        ("FILL-IN.ad.fqdn", "exch01.acme.local"),
        ("FILL-IN.public.fqdn", "mail.acme.com"),
        ("FILL-IN@tenant.onmicrosoft.com", "admin@acme.onmicrosoft.com"),
        ("FILL-IN\\migadmin", "ACME\\migadmin"),
        ("FILL-IN.mail.domain", "acme.com"),
    ]:
        filled = filled.replace(marker, value)
    (tmp_path / "runbooks" / f"{longest}.yml").write_text(filled, encoding="utf-8")
    data = json.loads(cli("values", longest, "--json", cwd=tmp_path).out)
    assert data["batch"]["name"] == f"{longest}-cutover"
    assert data["migration_endpoint"]["name"] == f"{longest}-endpoint"
    assert len(data["migration_endpoint"]["name"]) == 64
    for slug in ["a" * 56, "b" * 300]:
        result = cli("new", slug, cwd=tmp_path)
        assert (result.code, result.out) == (2, ""), slug
        assert result.err == (
            f"{slug!r} is not a slug of at most 55 characters (this one has {len(slug)}), so "
            "that the batch and endpoint names made from it (<slug>-cutover, <slug>-endpoint) "
            "stay within 64 characters\n"
        )
    assert sorted(p.name for p in (tmp_path / "runbooks").iterdir()) == [f"{longest}.yml"]


def test_a_client_file_named_with_too_long_a_slug_is_refused(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / f"{'a' * 60}.yml").write_text("client: Acme\n", encoding="utf-8")

    def problem(length: int) -> str:
        return (
            f"1:1: the file name must be <slug>.yml with a slug of at most 55 characters (this "
            f"one has {length}), so that the batch and endpoint names made from it "
            "(<slug>-cutover, <slug>-endpoint) stay within 64 characters\n"
        )

    named = f"runbooks/{'a' * 60}.yml"
    for args in [("validate",), ("validate", named), ("values", named)]:
        result = cli(*args, cwd=tmp_path)
        assert (result.code, result.err) == (2, f"{named}:{problem(60)}"), args
    # a name longer than the disk takes is refused as a slug, not as "File name too long"
    far = f"runbooks/{'b' * 300}.yml"
    for verb in ["validate", "values", "render"]:
        result = cli(verb, far, cwd=tmp_path)
        assert (result.code, result.err) == (2, f"{far}:{problem(300)}"), verb


def test_validate_all_examples_prints_warnings(cli: Callable[..., Run]) -> None:
    result = cli("validate")
    assert result.code == 0, result.err
    assert "runbooks/harbor-dental.yml: warning: slow-link-concurrency:" in result.out
    assert "runbooks/northwind-traders.yml: ok" in result.out


def test_values_of_a_missing_client(cli: Callable[..., Run]) -> None:
    result = cli("values", "no-such-client", "--json")
    assert result.code == 2
    assert "no such client file" in result.err
    assert "Traceback" not in result.err


def test_a_mistyped_slug_names_the_client_it_looks_like(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    # "(try `runbook new acme-widgtes`)" would start a second client with the typo
    cli("new", "acme-widgets", cwd=tmp_path)
    for verb in ["validate", "values", "handout"]:
        result = cli(verb, "acme-widgtes", cwd=tmp_path)
        assert (result.code, result.err) == (
            2,
            "runbooks/acme-widgtes.yml: no such client file; did you mean acme-widgets?\n",
        ), verb
        other = cli(verb, "zebra-farm", cwd=tmp_path)
        assert (other.code, other.err) == (
            2,
            "runbooks/zebra-farm.yml: no such client file (try `runbook new zebra-farm`)\n",
        ), verb
    elsewhere = cli("values", str(tmp_path / "acme.yml"), cwd=tmp_path)
    assert elsewhere.err == f"{tmp_path}/acme.yml: no such client file\n"


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every value of a JSON document with its path, as `values` names it (a.b[0].c)."""
    if isinstance(value, dict) and value:
        return [x for k, v in value.items() for x in leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list) and value:
        return [x for i, v in enumerate(value) for x in leaves(v, f"{path}[{i}]")]
    return [(path, value)]


@pytest.mark.parametrize("slug", ["northwind-traders", "alpine-logistics"])
def test_values_plain_text_shows_every_value_exactly(cli: Callable[..., Run], slug: str) -> None:
    result = cli("values", slug)
    assert result.code == 0, result.err
    out = result.out
    # a person copies from it: no JSON quotes, no doubled backslashes
    assert 'registry.set: reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts' in out
    assert "\\\\" not in out
    data = json.loads(cli("values", slug, "--json").out)
    found = leaves(data)
    assert len(found) > 100
    for path, value in found:
        if isinstance(value, str) and "\n" in value:  # below its path, each line indented
            body = "".join(f"\n    {line}" if line else "\n" for line in value.splitlines())
            assert f"\n{path}:{body}\n" in out, path
        elif isinstance(value, str) and value:
            assert f"\n{path}: {value}\n" in f"\n{out}", path
        else:
            shown = "(empty)" if value == "" else "(none)" if value in (None, [], {}) else None
            assert f"\n{path}: {shown or json.dumps(value)}\n" in f"\n{out}", path
    assert len(out.splitlines()) >= len(found)


def test_values_json_is_json(cli: Callable[..., Run]) -> None:
    data = json.loads(cli("values", "harbor-dental", "--json").out)
    assert data["slug"] == "harbor-dental"


def test_usage_errors_exit_2(cli: Callable[..., Run]) -> None:
    assert cli("values").code == 2
    assert cli("no-such-verb").code == 2
    assert cli("values", "x", "--bogus").code == 2


def test_module_entry_point_help(cli: Callable[..., Run]) -> None:
    result = cli("--help")
    assert result.code == 0
    for verb in ["new", "validate", "values", "render", "schema"]:
        assert verb in result.out


def test_steps_json_follows_the_contract(cli: Any) -> None:
    result = cli("steps", "harbor-dental", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["client"] == "Harbor Dental Group" and data["slug"] == "harbor-dental"
    assert re.fullmatch(r"[0-9a-f]{10}", data["revision"])
    numbers = [s["number"] for s in data["steps"]]
    assert numbers == list(range(1, len(numbers) + 1))
    for s in data["steps"]:
        assert s["id"] == f"step-{s['number']}"
        assert s["title"] and s["where"] and isinstance(s["commands"], list)
    nspi = next(s for s in data["steps"] if s["name"] == "nspi-sbs01")
    assert [c.split(" ", 2)[:2] for c in nspi["commands"]] == [
        ["reg", "query"],
        ["reg", "add"],
    ]
    assert all('"HKLM\\SYSTEM\\CurrentControlSet' in c for c in nspi["commands"])
    text = cli("steps", "harbor-dental")
    assert text.code == 0 and f"(revision {data['revision']})" in text.out
    assert "  1. Confirm the requirements" in text.out


def test_a_folder_named_like_a_client_file_is_said_to_be_one(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    folder = tmp_path / "acme.yml"
    folder.mkdir()
    for verb in ("validate", "values"):
        result = cli(verb, str(folder))
        assert result.code == 2, result
        assert result.err.strip() == f"{folder}: a folder, not a client file"


def test_steps_of_a_missing_client_is_a_one_line_error(cli: Any) -> None:
    result = cli("steps", "nobody-here", "--json")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "no such client file" in result.err
