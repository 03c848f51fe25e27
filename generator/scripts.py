"""The bundled check scripts' text, published once: one page, one appendix PDF, downloads.

Read as files, never imported here, so publishing them loads none of their dependencies.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CHECKS_DIR = Path(__file__).resolve().parent.parent / "checks"
SCRIPTS = ("ports.py", "rpcproxy.py", "rpcping.py", "validports.py", "dnsrecords.py")


@cache
def script_texts() -> dict[str, str]:
    """The bundled check scripts' full text, by file name, exactly as shipped (read once)."""
    return {name: (CHECKS_DIR / name).read_bytes().decode("utf-8") for name in SCRIPTS}
