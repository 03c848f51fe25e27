"""One procedure, two layouts: the page and the handout show exactly `runbook steps --json`.

For every example client the step numbers, titles and command lines are read back from the
built page (HTML) and from the built handout (PDF text, wrapped lines joined again) and must
equal the procedure's outline; the revision is printed on both.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from generator.handout import unwrap
from generator.procedure import WORDING
from tests.conftest import EXAMPLE_SLUGS, run_cli
from tests.htmltext import code_blocks


class _Headings(HTMLParser):
    """The text of every element whose id is `step-N`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._open: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id") or ""
        if self._open is None and re.fullmatch(r"step-\d+", ident) and tag[0] == "h":
            self._open, self._depth = ident, 0
            self.found[ident] = ""
        elif self._open is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None:
            if self._depth == 0:
                self._open = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.found[self._open] += data


def _flatten(outline: list[object]) -> list[Any]:
    out: list[Any] = []
    for item in outline:
        out += _flatten(item) if isinstance(item, list) else [item]
    return out


def steps_json(slug: str, runbooks: Path) -> dict[str, object]:
    result = run_cli("steps", slug, "--json", "--runbooks", str(runbooks))
    assert result.code == 0, result.err
    data: dict[str, object] = json.loads(result.out)
    return data


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_page_and_handout_show_the_procedure(
    built_site: Path, site_runbooks: Path, slug: str
) -> None:
    procedure = steps_json(slug, site_runbooks)
    steps: list[dict[str, object]] = procedure["steps"]  # type: ignore[assignment]
    assert [s["number"] for s in steps] == list(range(1, len(steps) + 1))
    assert all(s["id"] == f"step-{s['number']}" for s in steps)

    html = (built_site / "clients" / slug / "index.html").read_text(encoding="utf-8")
    headings = _Headings()
    headings.feed(html)
    assert list(headings.found) == [s["id"] for s in steps]
    blocks = code_blocks(html)
    for s in steps:
        assert str(s["title"]) in headings.found[str(s["id"])]
        for line in s["commands"]:  # type: ignore[attr-defined]
            assert line in blocks, (s["id"], line)
    assert str(procedure["revision"]) in html

    reader = PdfReader(built_site / "handouts" / f"{slug}.pdf")
    pages = [p.extract_text() for p in reader.pages]
    printed = unwrap("\n".join(pages))
    printed_lines = {line.strip() for line in printed.splitlines()}
    cover = next(i for i, p in enumerate(pages) if p.startswith("Values to type"))
    body = "\n".join(pages[cover:])  # the cover's contents list the titles in two columns
    titles = re.findall(r"^(\d+)\. (.+)$", body, re.MULTILINE)
    assert [(int(n), t.strip()) for n, t in titles] == [(s["number"], s["title"]) for s in steps]
    bookmarks = [o.title for o in _flatten(reader.outline)]
    for s in steps:
        assert f"{s['number']}. {s['title']}" in bookmarks
        for line in s["commands"]:  # type: ignore[attr-defined]
            for part in filter(None, str(line).split("\n")):  # a file: each of its lines
                assert part.strip() in printed_lines, (s["id"], part)
    for page in pages:
        assert f"Revision {procedure['revision']}" in page

    # the runbook's own sections carry one title each, on the page and on paper
    page_titles = set(re.findall(r"<h2[^>]*>([^<]+)", html))
    for title in (WORDING.values, WORDING.rollback, WORDING.troubleshooting):
        assert title in page_titles and title in bookmarks, title
    for title in (WORDING.notes, WORDING.evidence, WORDING.schedule):
        assert (title in page_titles) == (title in bookmarks), title
    assert (f"{WORDING.watch} (" in html) == (WORDING.watch in bookmarks)
    assert f"{WORDING.topology}: {WORDING.topology_caption}" in html
    assert f"{WORDING.topology}\n{WORDING.topology_caption}" in "\n".join(pages)


def test_a_new_step_appears_in_both_layouts_without_touching_a_template() -> None:
    from dataclasses import replace

    from generator.derive import derive
    from generator.handout import render_handout_html
    from generator.model import Client
    from generator.page import render_page
    from generator.procedure import Command, Commands, Phase, Step, numbered, t
    from generator.steps import build_procedure
    from tests.conftest import client_dict

    values = derive(Client.model_validate(client_dict()), "test-client")
    procedure = build_procedure(values, "0123456789")
    extra = Step(
        id="extra",
        title="Say hello to the server",
        where=t("the console"),
        why=t("A test of the layouts."),
        body=(Commands((Command("echo hello-from-a-new-step", "cmd"),)),),
    )
    grown = numbered(
        replace(procedure, phases=(*procedure.phases, Phase("More", t("More."), (extra,))))
    )
    n = grown.numbers["extra"]
    page = render_page(grown, "")
    assert f"### Step {n}: Say hello to the server {{ #step-{n} }}" in page
    assert "```bat\necho hello-from-a-new-step\n```" in page
    import generator.handout as handout

    original = handout.build_procedure
    handout.build_procedure = lambda *_args, **_kw: grown  # type: ignore[assignment]
    try:
        html = render_handout_html(values, "0123456789")
    finally:
        handout.build_procedure = original
    assert f'<h3 class="step-title" id="step-{n}">{n}. Say hello to the server</h3>' in html
    assert "echo hello-from-a-new-step" in html
