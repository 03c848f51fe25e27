"""Regenerate the golden files of the example clients: `make golden`, then review the diff.

Golden files pin the exact output for the examples in `runbooks/`; `make test` compares them.
"""

from __future__ import annotations

import json
from pathlib import Path

from generator.cli import values_json
from generator.clients import load_values, revision
from generator.page import render_runbook
from generator.steps import build_procedure

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
RUNBOOKS = ROOT / "runbooks"


def outputs(slug: str) -> dict[str, str]:
    """Every golden output of one example client, by file name."""
    values = load_values(RUNBOOKS, slug)
    rev = revision(RUNBOOKS / f"{slug}.yml")
    outline = build_procedure(values, rev).outline()
    return {
        f"{slug}.values.json": values_json(values) + "\n",
        f"{slug}.steps.json": json.dumps(outline, indent=2, ensure_ascii=False) + "\n",
        f"{slug}.md": render_runbook(values, rev),
    }


def slugs() -> list[str]:
    """The example clients."""
    return sorted(p.stem for p in RUNBOOKS.glob("*.yml"))


def main() -> None:
    """Write every golden file."""
    GOLDEN.mkdir(exist_ok=True)
    for slug in slugs():
        for name, text in outputs(slug).items():
            (GOLDEN / name).write_text(text, encoding="utf-8", newline="")
            print(f"wrote tests/golden/{name}")


if __name__ == "__main__":
    main()
