"""Fuzzing with hypothesis: no input makes `validate` do anything but report problems, and
every valid client renders completely with a ValidPorts that its own .reg file verifies."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks import validports
from generator.cli import cli
from generator.derive import derive
from generator.errors import ClientFileError
from generator.load import parse_document
from generator.model import Client, validate_document
from generator.page import render_runbook
from generator.placeholders import find_placeholder
from tests.conftest import client_dict

settings.register_profile(
    "fuzz",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=bool(os.environ.get("CI")),  # CI runs the same examples every time
)
settings.load_profile("fuzz")

NAME = "runbooks/fuzz.yml"
PROBLEM = re.compile(r"^runbooks/fuzz\.yml:\d+:\d+: ")
FIELDS = [
    "client", "consultant", "window", "exchange", "service_pack", "servers", "name", "fqdn",
    "global_catalog", "global_catalogs", "rpc_proxy", "public_fqdn", "front_end", "office365",
    "admin", "migration_account", "domains", "mx_target", "mx_ttl", "network", "mailboxes",
    "count", "notes", "password", "<<", "draft",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60)
    | st.dates().map(str)
    | st.sampled_from(["no", "yes", "on", "~", "0x1F", "1e309", ".nan", "2026-13-01", "FILL-IN"])
)
keys = st.sampled_from(FIELDS) | st.text(min_size=1, max_size=12)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)


def check_problems_only(data: bytes) -> None:
    """Parsing and validating either gives a client or problems, never anything else."""
    try:
        validate_document(parse_document(data, NAME))
    except ClientFileError as exc:
        assert exc.problems
        for line in exc.lines():
            assert PROBLEM.match(line), line
            assert "\n" not in line


@given(trees)
@settings(max_examples=300)
def test_random_trees_give_problems_not_crashes(tree: Any) -> None:
    check_problems_only(yaml.safe_dump(tree, allow_unicode=True).encode())


@given(st.binary(max_size=400))
@settings(max_examples=200)
def test_random_bytes_give_problems_not_crashes(data: bytes) -> None:
    check_problems_only(data)


@given(st.text(max_size=400))
@settings(max_examples=200)
def test_random_text_gives_problems_not_crashes(text: str) -> None:
    check_problems_only(text.encode("utf-8", errors="surrogatepass"))


def _mutated(path: list[str | int], value: Any) -> dict[str, Any]:
    """A valid client with one value replaced somewhere inside it."""
    data = client_dict()
    node: Any = data
    for part in path[:-1]:
        node = node[part] if isinstance(node, dict) and part in node else node
    if isinstance(node, dict):
        node[path[-1]] = value
    return data


PATHS = [
    ["client"], ["exchange", "service_pack"], ["exchange", "servers"], ["rpc_proxy", "public_fqdn"],
    ["rpc_proxy", "front_end"], ["office365", "admin"], ["office365", "migration_account"],
    ["office365", "concurrent_mailboxes"], ["domains"], ["network"], ["mailboxes"], ["window"],
    ["notes"], ["outlook_versions"], ["exchange", "global_catalogs"],
]  # fmt: skip


@given(st.sampled_from(PATHS), trees)
@settings(max_examples=300)
def test_one_wrong_value_in_a_valid_file_gives_problems_not_crashes(
    path: list[str | int], value: Any
) -> None:
    check_problems_only(yaml.safe_dump(_mutated(path, value), allow_unicode=True).encode())


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=12))
@settings(max_examples=40)
def test_alias_expansion_is_bounded(levels: int, fan_out: int) -> None:
    lines = ["a0: &a0 [x]"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(fan_out))
        lines.append(f"a{i}: &a{i} [{refs}]")
    check_problems_only("\n".join(lines).encode())


@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", "{a: ", "- "]))
@settings(max_examples=40)
def test_deep_nesting_is_bounded(depth: int, opener: str) -> None:
    closer = {"[": "]", "{a: ": "}", "- ": ""}[opener]
    if opener == "- ":
        text = "".join("  " * i + "- \n" for i in range(depth))
    else:
        text = "notes: " + opener * depth + "x" + closer * depth
    check_problems_only(text.encode())


@given(st.integers(min_value=1000, max_value=2_000_000))
@settings(max_examples=10)
def test_huge_strings_are_bounded(size: int) -> None:
    check_problems_only(b"client: " + b"x" * size + b"\n")


@given(trees)
@settings(max_examples=25, suppress_health_check=list(HealthCheck))
def test_validate_exits_2_on_bad_files(tree: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yml"
        path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        assert "ok" in result.output


# --- valid clients -----------------------------------------------------------------------

# a name holding a placeholder word (A-TBD, tbd.local) is refused by design: not a valid client
label = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6})?", fullmatch=True).filter(
    lambda n: find_placeholder(n) is None
)
netbios = st.from_regex(r"[A-Z][A-Z0-9]{0,9}(-[A-Z0-9]{1,3})?", fullmatch=True).filter(
    lambda n: find_placeholder(n) is None
)
free_text = st.text(
    st.characters(blacklist_categories=["Cc", "Cs"], blacklist_characters="\x7f"),
    min_size=1,
    max_size=80,
).filter(lambda t: t.strip() and find_placeholder(t) is None)


@st.composite
def clients(draw: st.DrawFn) -> dict[str, Any]:
    """A valid, varied client file as a dict."""
    names = draw(st.lists(netbios, min_size=2, max_size=6, unique_by=str.lower))
    ad = draw(label) + ".local"
    servers = [
        {"name": n, "fqdn": f"{n.lower()}.{ad}", "global_catalog": draw(st.booleans())}
        for n in names[:-1]
    ]
    service_pack = draw(st.sampled_from([0, 1, 2]))
    domains = draw(st.lists(label.map(lambda d: d + ".com"), min_size=1, max_size=3, unique=True))
    data: dict[str, Any] = {
        "client": draw(free_text),
        "exchange": {"service_pack": service_pack, "servers": servers},
        "rpc_proxy": {
            "public_fqdn": f"mail.{domains[0]}",
            "authentication": draw(st.sampled_from(["basic", "ntlm"])),
            "expose_rpc_ports": draw(st.booleans()),
        },
        "office365": {
            "admin": f"admin@{draw(label)}.onmicrosoft.com",
            "migration_account": f"{names[0][:15]}\\mig{draw(label)[:10]}",
        },
        "domains": [
            {"name": d, "mx_ttl": draw(st.integers(min_value=60, max_value=604800))}
            for d in domains
        ],
        "notes": draw(st.none() | free_text),
    }
    if draw(st.booleans()):
        data["rpc_proxy"]["front_end"] = {"name": names[-1], "fqdn": f"{names[-1].lower()}.{ad}"}
    if service_pack == 0 and draw(st.booleans()):
        data["exchange"]["global_catalogs"] = [{"name": "GC01", "fqdn": f"gc01.{ad}"}]
    if draw(st.booleans()):
        data["network"] = {"upstream_mbps": draw(st.floats(min_value=0.5, max_value=1000))}
    if draw(st.booleans()):
        data["mailboxes"] = {
            "count": draw(st.integers(min_value=0, max_value=2000)),
            "total_gb": draw(st.floats(min_value=0, max_value=5000)),
        }
    if draw(st.booleans()):
        data["window"] = draw(st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)))
    if draw(st.booleans()):
        data["office365"]["test_mailbox"] = f"user@{domains[0]}"
    return data


@given(clients())
@settings(max_examples=80)
def test_every_valid_client_renders_and_its_reg_file_verifies(data: dict[str, Any]) -> None:
    if any(s["name"] == "GC01" for s in data["exchange"]["servers"]):
        return  # the fixed GC name collided with a drawn server name
    text = yaml.safe_dump(data, allow_unicode=True).encode()
    client = validate_document(parse_document(text, NAME))
    assert client == Client.model_validate(data)
    values = derive(client, "fuzz")
    page = render_runbook(values, "0123456789")  # raises on any leftover placeholder
    assert values.valid_ports in page
    reg = values.registry.reg_file
    for encoded in (reg.encode("ascii"), b"\xff\xfe" + reg.encode("utf-16-le")):
        [result] = validports.verify(values.valid_ports, encoded)
        assert result.status == "pass", result.detail


# --- mutations of a valid file with the constructs YAML users trip on --------------------------

FRAGMENTS = [
    "!!bool maybe", "!!int ''", "!!float ''", "!!timestamp x", "!!str 5", "!tag x", "!!binary x",
    "&a 1", "*a", "&b [*a, *a]", "<<: {a: 1}", "<<: *a", "0777", "010", "1:00", "1:30.5", "0x1F",
    "0b11", "1_000", "no", "yes", "On", "off", "~", ".nan", "-.inf", "1e309", '"CORP\\user"',
    "'CORP\\user'", "password: hunter2", "pwd=x", "a: b: c", "\t", ": ", "\ufeff", "\u202e",
    "\x1b", "- ", "[", "]", "{", "}", "|", ">", "#", "\n", "  ", "   ", "2026-13-01", "FILL-IN",
    "TBD", "draft: true", "draft: yes", "-WhatIf", "acme.local", "'", '"', "%", "@", "`", "?",
    "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x", "\\u0000", "\x85", "\u2028",
]  # fmt: skip


def mutated_document(rng: random.Random, base: str) -> bytes:
    """A valid client file with a few fragments inserted, lines dropped or duplicated."""
    lines = base.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        at = rng.randrange(len(lines))
        if choice < 0.6:
            line = lines[at]
            cut = rng.randint(0, len(line))
            lines[at] = line[:cut] + rng.choice(FRAGMENTS) + line[cut:]
        elif choice < 0.8:
            del lines[at]
            if not lines:
                lines = [""]
        else:
            lines.insert(at, lines[at])
    text = "".join(lines)
    encoding = rng.choice(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"])
    return text.encode(encoding, errors="replace")


VALID_TEXT = yaml.safe_dump(client_dict(), sort_keys=False)


@given(st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_mutated_files_give_problems_not_crashes(rng: random.Random) -> None:
    check_problems_only(mutated_document(rng, VALID_TEXT))


def fuzz_run(count: int, seed: int = 2026) -> dict[str, int]:
    """Run `count` generated documents through load and model; count the outcomes."""
    rng = random.Random(seed)
    bases = [VALID_TEXT] + [
        p.read_text(encoding="utf-8")
        for p in sorted((Path(__file__).parent.parent / "runbooks").glob("*.yml"))
    ]
    outcome = {"valid": 0, "problems": 0, "unhandled": 0}
    for i in range(count):
        kind = i % 4
        if kind < 2:
            data = mutated_document(rng, rng.choice(bases))
        elif kind == 2:
            data = rng.randbytes(rng.randint(0, 300))
        else:
            data = "".join(rng.choice(FRAGMENTS + ["client", "x", "1"]) for _ in range(30)).encode()
        try:
            validate_document(parse_document(data, NAME))
            outcome["valid"] += 1
        except ClientFileError as exc:
            assert all(PROBLEM.match(line) and "\n" not in line for line in exc.lines())
            outcome["problems"] += 1
        except Exception:  # anything else is a bug: counted, and the run fails below
            outcome["unhandled"] += 1
    return outcome


@pytest.mark.slow
def test_a_hundred_thousand_documents_give_no_unhandled_exception() -> None:
    outcome = fuzz_run(100_000)
    print(f"fuzz: {sum(outcome.values()):,} documents: {outcome}")
    assert outcome["unhandled"] == 0, outcome
