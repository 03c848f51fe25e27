"""What a placeholder looks like: text a person was meant to replace.

Used twice on purpose: the model refuses it in a client file (with its position) and the
render stage refuses a page that still holds one (DESIGN.md, stage "render").
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(
    r"\{\{|\{%|\bTODO\b|\bFIXME\b|\bTBD\b|FILL-IN"
    r"|<(?:server|servername|host|hostname|fqdn|public[-_ ]?fqdn|domain|value|port|user|"
    r"username|tenant|name|slug|ip|password)>"
    r"|\bexample\.(?:com|net|org)\b|\byour(?:exchangeserver|domain|server|company)\b",
    re.IGNORECASE,
)


def find_placeholder(text: str) -> str | None:
    """The first placeholder in `text`, or None."""
    found = PLACEHOLDER.search(text)
    return found.group() if found else None
