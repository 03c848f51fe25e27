"""What a placeholder looks like: text a person was meant to replace.

Used twice on purpose: the model refuses it in a client file (with its position) and the
render stage refuses a page that still holds one (DESIGN.md, stage "render").
"""

from __future__ import annotations

import re

WORDS = (
    "todo", "fixme", "tbd", "example.com", "example.net", "example.org",
    "yourexchangeserver", "yourdomain", "yourserver", "yourcompany",
)  # fmt: skip
ANGLED = (
    "server", "servername", "host", "hostname", "fqdn", "public-fqdn", "public_fqdn",
    "public fqdn", "publicfqdn", "domain", "value", "port", "user", "username", "tenant",
    "name", "slug", "ip", "password",
)  # fmt: skip


def _whole_word(word: str) -> str:
    """`word` as a whole word. The literal comes first and the boundary behind it is checked
    afterwards, so the regex engine can skip ahead by that literal: pages run to tens of
    kilobytes and are rendered by the thousand."""
    literal = re.escape(word)
    return rf"{literal}(?<=\b{literal})\b"


# Matched against lower-cased text, so the pattern itself stays case-sensitive (and fast).
PLACEHOLDER = re.compile(
    "|".join(
        [r"\{\{", r"\{%", "fill-in"]
        + [_whole_word(w) for w in WORDS]
        + [re.escape(f"<{w}>") for w in ANGLED]
    )
)


# Every placeholder holds one of these (lower-case) literals, or is an angled word. A page
# runs to 50 KB and is rendered by the thousand: looking for the literals alone is six times
# faster than the regex, which then runs only on the rare page holding one of them. A value of
# the client file is short, and the regex alone is quicker there.
LITERALS = ("{{", "{%", "fill-in", "todo", "fixme", "tbd", "example.", "your")
_ANGLED = re.compile("|".join(re.escape(f"<{w}>") for w in ANGLED))
_LONG = 256


def find_placeholder(text: str) -> str | None:
    """The first placeholder in `text`, as written there, or None."""
    lower = text.lower()
    if (
        len(lower) > _LONG
        and not any(literal in lower for literal in LITERALS)
        and not _ANGLED.search(lower)
    ):
        return None
    found = PLACEHOLDER.search(lower)
    return text[found.start() : found.end()] if found else None
