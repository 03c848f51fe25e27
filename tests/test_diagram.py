"""The topology drawing measured from its text (the browser checks the result in test_browser)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from generator.clients import load_values
from generator.derive import derive
from generator.diagram import STACK_ABOVE, TEXT_SIZE, text_width, topology
from generator.model import Client
from tests.conftest import EXAMPLE_SLUGS, ROOT, client_dict

HANDOUT_WIDTH = 680  # CSS px across A4 less the handout's 15 mm margins


def drawing(**changes: Any) -> Any:
    """The drawing of the base client with changes."""
    return topology(derive(Client.model_validate(client_dict(**changes)), "test-client"))


def test_text_width_follows_the_font() -> None:
    assert text_width("iiii", 10) < text_width("MMMM", 10)
    assert text_width("EXCH01", 14, bold=True) > text_width("EXCH01", 14)
    assert text_width("a" * 20, 13) == pytest.approx(20 * 613 * 13 / 1000)
    # outside printable ASCII (a control character, an accent): the widest letter
    assert text_width("\x01é", 10) == text_width("\x7f\u2014", 10) == pytest.approx(22.06)


def test_boxes_grow_with_their_names() -> None:
    short = drawing()
    long_name = "mailbox-server-01.headquarters.testclient-group.local"
    long = drawing(**{"exchange.servers": [{"name": "EXCH01", "fqdn": long_name}]})
    assert long.width > short.width
    rect = re.search(
        r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*/>\n<text[^>]*>RPC', long.svg
    )
    assert rect and float(rect.group(1)) >= text_width(long_name, TEXT_SIZE) + 20


def test_many_long_targets_go_below_the_proxy() -> None:
    name = "mailbox-server-{}.headquarters.testclient.local"
    wide = drawing(
        **{
            "exchange.servers": [
                {"name": f"EXCH0{i}", "fqdn": name.format(i)} for i in range(1, 4)
            ],
            "rpc_proxy.front_end": {"name": "FE01", "fqdn": name.format(9)},
        }
    )
    assert wide.width <= STACK_ABOVE + 20
    assert TEXT_SIZE * HANDOUT_WIDTH / wide.width >= 10


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_examples_print_at_10_px_or_more(slug: str) -> None:
    d = topology(load_values(ROOT / "runbooks", slug))
    sizes = [float(s) for s in re.findall(r"font-size:([\d.]+)px", d.svg)]
    assert min(sizes) == TEXT_SIZE
    assert TEXT_SIZE * HANDOUT_WIDTH / d.width >= 10
    assert d.min_width * TEXT_SIZE / d.width >= 10  # the page never shrinks it further


def test_the_client_name_is_escaped_in_the_title() -> None:
    d = drawing(client="<b>Acme</b> & Sons")
    assert "<title>Migration path for &lt;b&gt;Acme&lt;/b&gt; &amp; Sons</title>" in d.svg
