"""The example clients' outputs match the reviewed golden files (`make golden` rewrites them)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE_SLUGS, run_cli
from tests.golden import GOLDEN, outputs, slugs


def test_examples_are_the_three_topologies() -> None:
    assert slugs() == EXAMPLE_SLUGS


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_outputs_match_golden_files(slug: str) -> None:
    for name, text in outputs(slug).items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert text == expected, (
            f"{name} differs from the golden file: run `make golden` and review"
        )


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_values_json_from_the_command_line_is_the_golden_file_twice(slug: str) -> None:
    first = run_cli("values", slug, "--json")
    second = run_cli("values", slug, "--json")
    assert first.code == 0, first.err
    assert first.out == second.out
    assert first.out == (GOLDEN / f"{slug}.values.json").read_text(encoding="utf-8")


CONTRACT_KEYS = {
    "client",
    "slug",
    "valid_ports",
    "registry",
    "telnet",
    "rpc_proxy_urls",
    "connectivity_analyzer",
    "migration_endpoint",
    "batch",
    "dns",
    "warnings",
}


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_values_json_follows_the_contract(slug: str) -> None:
    data = json.loads((GOLDEN / f"{slug}.values.json").read_text(encoding="utf-8"))
    assert set(data) >= CONTRACT_KEYS
    assert {
        "query", "backup", "set", "enabled_query", "enabled_set", "nspi", "nspi_hosts"
    } <= set(data["registry"])  # fmt: skip
    assert set(data["telnet"]) >= {"outside", "inside"}
    assert set(data["connectivity_analyzer"]) == {
        "exchange_server",
        "rpc_proxy_server",
        "authentication",
        "mutual_auth_principal",
    }
    assert {
        "email_address",
        "account",
        "exchange_server",
        "rpc_proxy_server",
        "authentication",
        "mailbox_permission",
        "max_concurrent_migrations",
    } <= set(data["migration_endpoint"])
    assert set(data["batch"]) == {"name", "notification_emails"}
    for record in data["dns"]:
        assert {"domain", "mx_ttl", "mx_target", "mx", "spf", "autodiscover"} <= set(record)
        assert "mx_target_confirmed" not in record
        assert (record["mx"] is None) == (record["mx_target"] is None)
    for warning in data["warnings"]:
        assert {"code", "message"} <= set(warning)


def test_example_topologies() -> None:
    single = json.loads((GOLDEN / "northwind-traders.values.json").read_text())
    assert single["valid_ports"] == (
        "EXCH01:6001-6002;EXCH01:6004;exch01.northwind.local:6001-6002;"
        "exch01.northwind.local:6004;mail.northwind.com:6001-6002;mail.northwind.com:6004"
    )
    sbs = json.loads((GOLDEN / "harbor-dental.values.json").read_text())
    assert sbs["registry"]["nspi"] is not None
    assert sbs["migration_endpoint"]["max_concurrent_migrations"] == 1
    assert [w["code"] for w in sbs["warnings"]] == [
        "iis6-tls-1.0",
        "outlook-too-old",
        "mx-ttl-high",
        "slow-link-concurrency",
    ]
    assert sbs["registry"]["nspi_hosts"] == ["SBS01"]
    front = json.loads((GOLDEN / "alpine-logistics.values.json").read_text())
    assert front["connectivity_analyzer"]["authentication"] == "NTLM"
    assert "owa.alpinelogistics.com:" not in front["valid_ports"]
    assert "EXCH02:6001-6002" in front["valid_ports"]
    assert [d["domain"] for d in front["dns"]] == ["alpinelogistics.com", "alpine-freight.com"]
