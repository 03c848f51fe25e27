"""What counts as a placeholder, found wherever it stands in a page and only there."""

from __future__ import annotations

import pytest

from generator.placeholders import ANGLED, LITERALS, PLACEHOLDER, WORDS, find_placeholder

FILLER = "Run the check from a laptop outside the network. " * 400  # a page's worth of prose


def test_every_word_holds_one_of_the_literals_scanned_first() -> None:
    # the quick scan may only skip the regex when no placeholder can be there
    for word in WORDS:
        assert any(literal in word for literal in LITERALS), word


@pytest.mark.parametrize(
    "placeholder",
    ["{{", "{%", "FILL-IN", *WORDS, *(w.upper() for w in WORDS), *(f"<{w}>" for w in ANGLED)],
)
def test_each_placeholder_is_found_anywhere_in_a_long_page(placeholder: str) -> None:
    for text in (placeholder, f"{FILLER}{placeholder} {FILLER}", f"{FILLER}\n{placeholder}"):
        assert find_placeholder(text) == placeholder


@pytest.mark.parametrize(
    "text",
    [
        FILLER,
        "todos and a mytodo",
        "the subdomain yourdomains.com",
        "mail.example.community",
        "<servers> <Host-name> { { {x}",
        "Fill in the form",
    ],
)
def test_near_misses_are_not_placeholders(text: str) -> None:
    assert find_placeholder(f"{FILLER}{text}{FILLER}") is None


def test_the_first_placeholder_is_the_one_reported() -> None:
    text = f"{FILLER} TBD then <server> then {{{{"
    assert find_placeholder(text) == "TBD"
    found = PLACEHOLDER.search(text.lower())
    assert found is not None and text[found.start() : found.end()] == "TBD"
