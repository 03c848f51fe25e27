"""The printed handout: exact values in the PDF, print layout, escaping and rebuilds."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PageObject, PdfReader
from pypdf.generic import BooleanObject

from generator import __version__
from generator.cli import cli
from generator.clients import revision
from generator.derive import Values, derive
from generator.errors import RenderError, UserError
from generator.handout import (
    GRID_CHARS,
    MANIFEST,
    Portion,
    build_handouts,
    grid_widths,
    handout_bytes,
    handout_pdf,
    pdf_bytes,
    render_handout_html,
    render_procedure_html,
    unwrap,
    wrap,
    write_handout,
)
from generator.model import Client, load_client
from generator.procedure import Code, Command, Form, Procedure, Step
from generator.scripts import script_texts
from generator.steps import build_procedure
from tests.conftest import EXAMPLE_SLUGS, EXAMPLES, ROOT, check_invocations, client_dict

A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)


@dataclass
class Handout:
    """One built handout and what the tests read from it."""

    values: Values
    revision: str
    html: str
    pdf: Path
    reader: PdfReader
    pages: list[str]  # extracted text per page

    @property
    def text(self) -> str:
        """All pages' text with whitespace runs collapsed to one space."""
        return " ".join(" ".join(self.pages).split())

    @property
    def joined(self) -> str:
        """All pages' text with every wrapped command joined again, as a reader types it."""
        return unwrap("\n".join(self.pages))

    @property
    def values_page(self) -> int:
        """The index of the page "Values to type": the pages before it are the cover."""
        return next(i for i, page in enumerate(self.pages) if page.startswith("Values to type"))

    def steps(self) -> list[tuple[int, str]]:
        """(number, title) of every step, from the procedure the handout was printed from."""
        procedure = build_procedure(self.values, self.revision)
        return [(s.number, s.title) for s in procedure.steps()]


def read_handout(values: Values, rev: str, pdf: Path, paper: str = "a4") -> Handout:
    """Read a built handout back."""
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    pages = [page.extract_text() for page in reader.pages]
    return Handout(values, rev, render_handout_html(values, rev, paper), pdf, reader, pages)


def squeeze(text: str) -> str:
    """Text without any whitespace: how values are compared across wrapped lines."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example clients copied to a folder, and their handouts built once, in parallel."""
    root = tmp_path_factory.mktemp("handouts")
    runbooks = root / "runbooks"
    runbooks.mkdir()
    for slug in EXAMPLE_SLUGS:
        shutil.copy(EXAMPLES / f"{slug}.yml", runbooks / f"{slug}.yml")
    out = root / "out"
    build_handouts(_jobs(runbooks), out, processes=2)
    return runbooks, out


def _jobs(runbooks: Path) -> list[tuple[Values, Path]]:
    """(values, client file) for every client file in a folder."""
    paths = sorted(runbooks.glob("*.yml"))
    return [(derive(load_client(p), p.stem), p) for p in paths]


@pytest.fixture(scope="module")
def examples(built: tuple[Path, Path]) -> dict[str, Handout]:
    """Each example's handout, read back."""
    runbooks, out = built
    return {
        v.slug: read_handout(v, revision(path), out / f"{v.slug}.pdf")
        for v, path in _jobs(runbooks)
    }


@pytest.fixture(scope="module")
def four_servers(tmp_path_factory: pytest.TempPathFactory) -> Handout:
    """A client with four back-end servers (ValidPorts over 300 characters) and hostile text."""
    servers = [
        {"name": f"EXCHMBX0{i}", "fqdn": f"exchmbx0{i}.headoffice.corp.local"} for i in range(1, 5)
    ]
    data = client_dict(
        **{
            "client": "<script>alert(1)</script> & Sons",
            "consultant": 'Robin "<b>bold</b>" Vale',
            "notes": "Keys: <img src=x onerror=alert(1)>\n[click](javascript:alert(1)) & more",
            "exchange.servers": servers,
        }
    )
    values = derive(Client.model_validate(data), "four-servers")
    rev = "0123456789"
    out = tmp_path_factory.mktemp("four") / "four-servers.pdf"
    write_handout(values, rev, out)
    return read_handout(values, rev, out)


def all_handouts(examples: dict[str, Handout], four_servers: Handout) -> list[Handout]:
    """The examples and the four-server client."""
    return [*examples.values(), four_servers]


# --- exact values ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_validports_and_reg_add_line_are_printed_exactly(
    examples: dict[str, Handout], slug: str
) -> None:
    handout = examples[slug]
    v = handout.values
    lines = [line.strip() for line in handout.joined.splitlines()]
    assert v.registry.backup in lines
    if v.registry.managed_by_esm:  # written by the front-end's System Attendant: compared
        assert v.valid_ports in handout.joined and v.registry.set not in handout.joined
        assert v.checks.validports in lines
        return
    assert v.valid_ports in lines
    assert v.registry.set in lines
    for entry in v.valid_ports_entries:
        assert entry in lines


def test_long_validports_of_four_servers_prints_intact(four_servers: Handout) -> None:
    v = four_servers.values
    assert len(v.valid_ports) > 300
    assert len(v.valid_ports_entries) == 18
    lines = [line.strip() for line in four_servers.joined.splitlines()]
    assert v.valid_ports in lines
    assert v.registry.set in lines
    assert "\u21b5" in "".join(four_servers.pages)  # it was wrapped, with the mark


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_wizard_values_are_printed_beside_their_fields(
    examples: dict[str, Handout], slug: str
) -> None:
    handout = examples[slug]
    ep = handout.values.migration_endpoint
    text = handout.text
    for field, value in [
        ("Exchange server", ep.exchange_server),
        ("RPC proxy server", ep.rpc_proxy_server),
        ("Authentication", ep.authentication),
        ("Account with privileges", ep.account),
        ("Maximum concurrent migrations", str(ep.max_concurrent_migrations)),
        ("Batch name", handout.values.batch.name),
        (
            "Mutual authentication principal",
            handout.values.connectivity_analyzer.mutual_auth_principal,
        ),
    ]:
        assert f"{field} {value}" in text, field
    assert ep.exchange_server.endswith(".local")  # the internal name, never the public one
    for d in handout.values.dns:
        assert d.mx_target is None or d.mx_target in text
        assert d.mx is None or squeeze(d.mx) in squeeze(text)


def test_wizard_authentication_follows_the_client(examples: dict[str, Handout]) -> None:
    assert "Authentication NTLM" in examples["alpine-logistics"].text
    assert "Authentication Basic" in examples["northwind-traders"].text
    assert (
        '--auth-method ntlm --ports "6001,6002,6004" --valid-until 2027-03-02 '
        "owa.alpinelogistics.com" in (examples["alpine-logistics"].joined)
    )


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_every_step_has_a_numbered_heading_a_date_field_and_a_bookmark(
    examples: dict[str, Handout], slug: str
) -> None:
    handout = examples[slug]
    expected = handout.steps()
    body = "\n".join(handout.pages[handout.values_page :])  # after the contents
    headings = re.findall(r"^(\d+)\. (.+)$", body, re.MULTILINE)
    assert [(int(n), title.strip()) for n, title in headings] == expected
    signoffs = re.findall(r"Step (\d+) done\s*Date\s*Time\s*Initials", handout.text)
    gates = handout.text.count("Decided by (name)")
    assert len(signoffs) + gates == len(expected)
    bookmarks = [item.title for item in _flatten(handout.reader.outline)]
    assert [b for b in bookmarks if re.match(r"\d+\. ", b)] == [f"{n}. {t}" for n, t in expected]


def structure_nodes(root: Any) -> list[Any]:
    """Every element of a PDF's structure tree, depth first."""
    out: list[Any] = []
    stack = [root]
    while stack:
        node = stack.pop()
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif hasattr(node, "get"):
            if "/S" in node:
                out.append(node)
            kids = node.get("/K")
            if kids is not None and not isinstance(kids, int):
                stack.append(kids)
    return out


def structure_roles(root: Any) -> list[str]:
    """The role of every element of a structure tree, in order."""
    return [str(node["/S"]) for node in structure_nodes(root)]


def _flatten(outline: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in outline:
        out += _flatten(item) if isinstance(item, list) else [item]
    return out


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_contents_lists_every_step_with_its_page(examples: dict[str, Handout], slug: str) -> None:
    handout = examples[slug]
    contents = "\n".join(handout.pages[: handout.values_page])
    # the dots and the number never fall to a line of their own: a title too long for its
    # line wraps before its last word, which the dots follow
    assert not re.search(r"^[ .]*\d+$", contents, re.MULTILINE)
    for number, title in handout.steps():
        heading = f"{number}. {title}"
        head, _, last = heading.rpartition(" ")
        # leader dots, or none when the title fills the column
        entry = re.search(
            rf"^{re.escape(head)}(?: | ?\n){re.escape(last)}[ .]*\s(\d+)$", contents, re.MULTILINE
        )
        assert entry, heading
        page = next(
            i
            for i, p in enumerate(handout.pages, start=1)
            if i > handout.values_page and re.search(rf"^{re.escape(heading)}$", p, re.MULTILINE)
        )
        assert int(entry.group(1)) == page, heading


def test_warnings_notes_schedule_and_rollback_are_printed(examples: dict[str, Handout]) -> None:
    harbor = examples["harbor-dental"]
    for warning in harbor.values.warnings:
        # once under "Points to watch", once in the step it concerns
        assert harbor.text.count(warning.message) == 2
    assert harbor.values.notes
    assert " ".join(harbor.values.notes.split()) in harbor.text
    assert harbor.values.schedule
    for step in harbor.values.schedule.steps:
        assert f"{step.date} {step.title}" in harbor.text
    assert harbor.values.registry.nspi and harbor.values.registry.nspi in harbor.joined
    assert f"reg import {harbor.values.registry.backup_file}" in harbor.text
    assert f"Stop-MigrationBatch -Identity {harbor.values.batch.name}" in harbor.text
    assert "Point of no return" in harbor.text
    assert "Go No-go" in harbor.text
    assert "Decided by (name)" in harbor.text and "Signature" in harbor.text


def test_a_steps_date_has_a_when_line_of_its_own(examples: dict[str, Handout]) -> None:
    """As on the page: "When: By 2026-11-30." on its own line, not after the Where line."""
    northwind = examples["northwind-traders"]
    procedure = build_procedure(northwind.values, northwind.revision)
    dated = [s for s in procedure.steps() if s.when]
    assert dated
    lines = "\n".join(northwind.pages).splitlines()
    for s in dated:
        assert s.when and f"When: {s.when.words()}." in lines, s.id
    assert not any("Where:" in line and "When:" not in line and " By 20" in line for line in lines)
    assert not re.search(r"\. (By|On|Not before|Expected by) \d{4}-", northwind.text)


def test_the_notes_are_formatted_on_paper_as_on_the_page() -> None:
    """**bold** is bold, a list a list and code kept exact, as the page shows them; a TBD of
    the consultant's own stays theirs to leave."""
    notes = (
        "Keys with **Priya** at reception; firewall owner TBD.\n\n- ticket `a && b`\n\n"
        "```\nnet stop x && net start x <y>\n```\n"
    )
    values = derive(Client.model_validate(client_dict(notes=notes)), "notes-client")
    page = render_handout_html(values, "0123456789")
    shown = page[page.index('<div class="notes">') :]
    shown = shown[: shown.index("</section>")]
    assert "<strong>Priya</strong>" in shown and "**" not in shown
    assert "<li>ticket <code>a &amp;&amp; b</code></li>" in shown
    assert "<code>net stop x &amp;&amp; net start x &lt;y&gt;</code>" in shown
    assert "```" not in shown and "&amp;amp;" not in shown


def test_a_notes_title_ends_in_one_mark(examples: dict[str, Handout]) -> None:
    """A title that is a question keeps its question mark alone, no full stop after it."""
    northwind = examples["northwind-traders"]
    assert "Can this migration work? Microsoft's" in " ".join(northwind.text.split())
    for handout in examples.values():
        assert not re.search(r"[?!.]\.(?!\.)", handout.html.replace("...", "")), handout.values.slug


def test_a_steps_warning_carries_its_code_as_on_the_page(examples: dict[str, Handout]) -> None:
    """The code `runbook validate` prints and the page shows beside each step's warning."""
    harbor = examples["harbor-dental"]
    assert harbor.values.warnings
    for warning in harbor.values.warnings:
        assert f"{warning.message} ({warning.code})" in " ".join(harbor.text.split())


def test_steps_hold_the_check_script_invocations(examples: dict[str, Handout]) -> None:
    handout = examples["northwind-traders"]
    v = handout.values
    for line in check_invocations(v):
        assert line in handout.joined, line
    assert v.checks.rpcproxy == (
        "python3 rpcproxy.py --server exch01.northwind.local --auth-method basic "
        '--ports "6001,6002,6004" --valid-until 2026-12-15 mail.northwind.com'
    )


def test_no_script_source_in_a_client_handout(examples: dict[str, Handout]) -> None:
    for handout in examples.values():
        for name, body in script_texts().items():
            lines = [line for line in body.splitlines() if len(line.strip()) > 30]
            assert not any(line.strip() in handout.joined for line in lines[:40]), name
        assert len(handout.pages) <= 24


def test_the_scripts_appendix_holds_each_script_once(tmp_path: Path) -> None:
    from generator.handout import write_scripts_appendix

    pdf = write_scripts_appendix(tmp_path)
    assert pdf.name == "check-scripts.pdf"
    reader = PdfReader(pdf)
    running = re.compile(
        r"^(The check scripts(\s*\w+\.py \(continued\))?|Revision \w+\s*Page \d+ of \d+)$"
    )
    lines = [
        line
        for page in reader.pages
        for line in page.extract_text().splitlines()
        if not running.match(line.strip())
    ]
    text = squeeze("\n".join(lines))
    for name, body in script_texts().items():
        assert text.count(squeeze(body)) == 1, name
    before = pdf.stat().st_mtime_ns
    assert write_scripts_appendix(tmp_path) == pdf
    assert pdf.stat().st_mtime_ns == before  # unchanged scripts: not rebuilt


# --- print layout --------------------------------------------------------------------------


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_revision_client_and_page_number_on_every_page(
    examples: dict[str, Handout], slug: str
) -> None:
    handout = examples[slug]
    count = len(handout.pages)
    assert count > 5
    for number, page in enumerate(handout.pages, start=1):
        assert f"Revision {handout.revision}" in page
        assert f"Page {number} of {count}" in page
        assert handout.values.client in page
    assert f"cutover-runbooks {__version__}" in handout.pages[0]
    assert str(handout.values.window) in handout.pages[0]


def test_revision_follows_the_file_and_the_tool_version(tmp_path: Path) -> None:
    path = tmp_path / "acme.yml"
    path.write_bytes(b"client: Acme\n")
    first = revision(path)
    assert re.fullmatch(r"[0-9a-f]{10}", first)
    assert revision(path) == first
    path.write_bytes(b"client: Acme \n")
    assert revision(path) != first
    with pytest.raises(UserError, match="cannot read"):
        revision(tmp_path / "missing.yml")


def test_cheat_sheet_fits_on_one_page(examples: dict[str, Handout]) -> None:
    for handout in examples.values():
        sheet = [p for p in handout.pages if p.startswith("Values to type")]
        assert len(sheet) == 1
        assert handout.values.valid_ports in unwrap(sheet[0])
        assert handout.values.batch.name in sheet[0]
        assert handout.values.registry.backup_file in sheet[0]


@dataclass
class Printed:
    """A handout written by `runbook handout` on Letter, with the dates around the run."""

    pdf: Path
    revision: str
    output: str
    days: set[str]  # today's date before and after the run (two around midnight)


@pytest.fixture(scope="module")
def alpine_letter(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """`runbook handout alpine-logistics --paper letter`, as a consultant runs it."""
    root = tmp_path_factory.mktemp("letter")
    runbooks = root / "runbooks"
    runbooks.mkdir()
    shutil.copy(EXAMPLES / "alpine-logistics.yml", runbooks)
    out = root / "alpine.pdf"
    before = dt.date.today()
    result = CliRunner().invoke(
        cli,
        [
            "handout",
            "alpine-logistics",
            "-o",
            str(out),
            "--paper",
            "letter",
            "--runbooks",
            str(runbooks),
        ],
    )
    assert result.exit_code == 0, result.output
    rev = revision(runbooks / "alpine-logistics.yml")
    return Printed(out, rev, result.output, {str(before), str(dt.date.today())})


def test_page_size_follows_paper(examples: dict[str, Handout], alpine_letter: Printed) -> None:
    for page in examples["northwind-traders"].reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=1)
    out, rev = alpine_letter.pdf, alpine_letter.revision
    assert f"wrote {out} (revision {rev}" in alpine_letter.output
    reader = PdfReader(out)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            LETTER, abs=1
        )
        assert f"Revision {rev}" in page.extract_text()
        assert_text_inside(page)


def test_the_handout_command_prints_the_date_in_every_footer(alpine_letter: Printed) -> None:
    pages = pdftotext(alpine_letter.pdf).split("\f")[:-1]
    for number, page in enumerate(pages, start=1):
        footer = re.search(rf"Revision {alpine_letter.revision} · printed (\S+)", page)
        assert footer and footer.group(1) in alpine_letter.days, number


def test_handout_command_rejects_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["handout", "nobody-here", "--runbooks", str(tmp_path)])
    assert isinstance(missing.exception, UserError)
    assert "no such client file" in str(missing.exception)
    paper = runner.invoke(cli, ["handout", "x", "--paper", "a3", "--runbooks", str(tmp_path)])
    assert paper.exit_code == 2
    assert "a3" in paper.output
    values = derive(Client.model_validate(client_dict()), "test-client")
    with pytest.raises(UserError, match="paper 'a5'"):
        render_handout_html(values, "0123456789", paper="a5")


def test_unwritable_output_is_a_user_error_and_leaves_nothing(tmp_path: Path) -> None:
    values = derive(Client.model_validate(client_dict()), "test-client")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n")
    with pytest.raises(UserError, match="cannot write"):
        write_handout(values, "0123456789", blocker / "test-client.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_every_glyph_is_inside_the_page(
    examples: dict[str, Handout], four_servers: Handout
) -> None:
    for handout in all_handouts(examples, four_servers):
        for page in handout.reader.pages:
            assert_text_inside(page)


def test_the_binding_margin_alternates_for_double_sided_printing(
    examples: dict[str, Handout],
) -> None:
    mm = 72 / 25.4
    for handout in examples.values():
        for number, page in enumerate(handout.reader.pages[:4], start=1):
            left = min(x for _, corners in glyph_boxes(page) for x, _ in corners)
            # a right-hand (odd) page binds on its left edge, a left-hand one on its right
            binding = 20 if number % 2 else 11
            assert left == pytest.approx(binding * mm, abs=1.5 * mm), (handout.values.slug, number)


def test_glyph_check_catches_text_off_the_page() -> None:
    wide = "<p style='white-space: nowrap'>" + "overflow " * 60 + "</p>"
    reader = PdfReader(io.BytesIO(pdf_bytes(f"<html><body>{wide}</body></html>")))
    with pytest.raises(AssertionError, match="outside the page"):
        assert_text_inside(reader.pages[0])


def test_long_values_break_only_after_a_semicolon_or_at_a_space(
    examples: dict[str, Handout], four_servers: Handout
) -> None:
    for handout in all_handouts(examples, four_servers):
        text = "\n".join(handout.pages)
        for broken in re.findall(r"(.)\u21b5\s*\n", text):
            assert broken in (";", " "), repr(broken)
        v = handout.values
        values = [v.valid_ports, v.powershell.endpoint, v.checks.validports]
        if not v.registry.managed_by_esm:
            values.append(v.registry.set)
        for value in values:
            assert any(value in unwrap(p) for p in handout.pages), value  # on one page


def test_code_lines_never_split_across_pages(
    examples: dict[str, Handout], four_servers: Handout
) -> None:
    for handout in all_handouts(examples, four_servers):
        v = handout.values
        lines = [*v.telnet.inside, *v.rpc_proxy_urls, *(d.mx for d in v.dns if d.mx)]
        for line in lines:
            assert any(squeeze(line) in squeeze(p) for p in handout.pages), line


def test_fonts_are_embedded_and_metadata_is_fixed(examples: dict[str, Handout]) -> None:
    handout = examples["northwind-traders"]
    names = set()
    for page in handout.reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor.get_object(), font["/BaseFont"]
            names.add(str(font["/BaseFont"]).split("+")[-1])
    assert names == {"DejaVu-Sans", "DejaVu-Sans-Bold", "DejaVu-Sans-Mono"}
    info = handout.reader.metadata
    assert info is not None
    assert "/CreationDate" not in info and "/ModDate" not in info
    assert info["/Keywords"] == f"revision {handout.revision}"
    assert info["/Title"] == "Northwind Traders: cutover handout"


# --- escaping and determinism ---------------------------------------------------------------


def test_free_text_is_text_never_markup(four_servers: Handout) -> None:
    html = four_servers.html
    for markup in ("<script", "<img", "<b>", 'href="javascript'):
        assert markup not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Robin &#34;&lt;b&gt;bold&lt;/b&gt;&#34; Vale" in html
    text = four_servers.text
    assert "<script>alert(1)</script> & Sons" in text
    assert "Keys: <img src=x onerror=alert(1)>" in text
    assert "[click](javascript:alert(1)) & more" in text


def test_html_is_deterministic_and_dated_only_on_request() -> None:
    values = derive(Client.model_validate(client_dict(window="2027-03-06")), "test-client")
    first = render_handout_html(values, "abcdef0123")
    assert render_handout_html(values, "abcdef0123") == first
    assert "<th>Printed</th>" not in first and "printed 20" not in first
    assert str(dt.date.today()) not in first
    assert '@bottom-left { content: "Revision abcdef0123"; }' in first  # the revision always
    dated = render_handout_html(values, "abcdef0123", generated=dt.date(2027, 1, 2))
    assert "<tr><th>Printed</th><td>2027-01-02</td></tr>" in dated
    assert '@bottom-left { content: "Revision abcdef0123 · printed 2027-01-02"; }' in dated
    letter = render_handout_html(values, "abcdef0123", paper="letter")
    assert "size: letter;" in letter and "size: A4;" in first


def test_a_long_value_gets_lines_the_width_of_the_page() -> None:
    # ValidPorts runs to 140 characters and more; the rollback depends on what is written
    html = render_handout_html(derive(Client.model_validate(client_dict()), "test-client"), "r")
    lines = '<span class="blank line"></span>' * 3
    for label in ("Value found (or none)", "Old SPF of testclient.com (or none)"):
        assert f'<div class="fill long"><p>{label}</p>{lines}</div>' in html
    assert '<p class="fill">Value found' not in html


def test_a_placeholder_in_a_value_is_refused() -> None:
    values = derive(Client.model_validate(client_dict()), "test-client")
    broken = values.model_copy(update={"admin": "<server>"})
    with pytest.raises(RenderError, match="<server>"):
        render_handout_html(broken, "abcdef0123")


# --- rebuilding ----------------------------------------------------------------------------


def test_rebuild_skips_unchanged_and_rebuilds_only_the_changed_client(
    built: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = tmp_path / "runbooks"
    out = tmp_path / "out"
    shutil.copytree(built[0], runbooks)
    shutil.copytree(built[1], out)
    before = snapshot(out)
    assert set(before) == {f"{s}.pdf" for s in EXAMPLE_SLUGS} | {MANIFEST}

    paths = build_handouts(_jobs(runbooks), out)
    assert paths == [out / f"{s}.pdf" for s in sorted(EXAMPLE_SLUGS)]
    assert snapshot(out) == before  # nothing rewritten, not even the manifest
    assert capsys.readouterr().err == ""

    client = runbooks / "harbor-dental.yml"
    original = client.read_bytes()
    client.write_bytes(original + b"# reviewed on site\n")
    build_handouts(_jobs(runbooks), out, progress=True)
    after = snapshot(out)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"harbor-dental.pdf", MANIFEST}
    assert (
        f"Revision {revision(client)}"
        in PdfReader(out / "harbor-dental.pdf").pages[0].extract_text()
    )
    assert "handouts: 1/1 harbor-dental" in capsys.readouterr().err

    client.write_bytes(original)  # back as it was: the same bytes as the first build
    build_handouts(_jobs(runbooks), out, processes=1)
    assert snapshot(out)["harbor-dental.pdf"][1] == before["harbor-dental.pdf"][1]
    assert not list(out.glob(".*.tmp"))


_BUILD_TWO = """
import sys
from pathlib import Path
from generator.derive import derive
from generator.handout import build_handouts
from generator.model import load_client
jobs = [(derive(load_client(Path(p)), Path(p).stem), Path(p)) for p in sys.argv[2:]]
build_handouts(jobs, Path(sys.argv[1]), processes=2, progress=False)
"""


def test_the_workers_share_one_weasyprint_import(tmp_path: Path) -> None:
    # `-X importtime` reports every import on stderr, in the workers too: forked after the
    # parent imported WeasyPrint, they never import it themselves
    out = tmp_path / "out"
    clients = [str(EXAMPLES / f"{slug}.yml") for slug in EXAMPLE_SLUGS[:2]]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _BUILD_TWO, str(out), *clients],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.stem for p in out.glob("*.pdf")) == sorted(EXAMPLE_SLUGS[:2])
    imports = [line for line in result.stderr.splitlines() if line.endswith("| weasyprint")]
    assert len(imports) == 1, imports


def test_a_missing_or_replaced_pdf_is_rebuilt(built: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(built[1], out)
    pdf = out / "northwind-traders.pdf"
    good = pdf.read_bytes()
    pdf.write_bytes(b"%PDF-1.7 truncated")
    jobs = [j for j in _jobs(built[0]) if j[0].slug == "northwind-traders"]
    build_handouts(jobs, out)
    assert pdf.read_bytes() == good


def test_changed_values_from_the_same_file_are_rebuilt(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(built[1], out)
    values, path = next(j for j in _jobs(built[0]) if j[0].slug == "northwind-traders")
    # what a change of the derive rules looks like: same client file, other values
    changed = values.model_copy(update={"admin": "it@northwind.com"})
    build_handouts([(changed, path)], out)
    assert "signed in as it@northwind.com" in squeeze_spaces(out / "northwind-traders.pdf")


def squeeze_spaces(pdf: Path) -> str:
    """A PDF's text with whitespace runs collapsed to one space."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file in a folder: (mtime in ns, bytes)."""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


# --- read back with poppler's pdftotext, as a consultant copies from the PDF ------------------


def pdftotext(pdf: Path, *options: str) -> str:
    """The PDF's text in reading order, pages separated by form feeds.

    By default pdftotext joins a word broken at a line-end hyphen, dropping the hyphen, as a
    reader's eye does: a value broken at a hyphen then no longer reads exactly. `-raw` keeps
    every line as printed.
    """
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) reads the handouts back; install poppler-utils"
    return subprocess.run(
        [tool, "-enc", "UTF-8", *options, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def rejoined(text: str) -> list[str]:
    """Lines with every `↵`, its line end and the next line's indent removed, stripped."""
    return [line.strip() for line in re.sub("\u21b5[ \t]*\n[ \t]*", "", text).splitlines()]


@pytest.fixture(scope="module")
def copied(examples: dict[str, Handout]) -> dict[str, str]:
    """Each example handout's text as pdftotext gives it."""
    return {slug: pdftotext(h.pdf) for slug, h in examples.items()}


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_pdftotext_rejoined_gives_every_command_exactly(
    examples: dict[str, Handout], copied: dict[str, str], slug: str
) -> None:
    handout = examples[slug]
    v = handout.values
    lines = rejoined(copied[slug])
    assert v.valid_ports in lines
    assert v.registry.set.startswith('reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy"')
    if v.registry.managed_by_esm:  # the front-end's System Attendant writes it: no reg add
        assert v.registry.set not in lines and v.checks.validports in lines
    else:
        assert v.registry.set in lines
    assert "\u21b5" in copied[slug]  # something was wrapped: the joining was put to work
    for step in build_procedure(v, handout.revision).steps():
        for command in step.commands():
            for line in command.text.splitlines():  # a file's content, line by line
                assert line.strip() in lines, (step.number, line)


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_at_most_24_pages_and_each_step_signed_with_a_date(
    examples: dict[str, Handout], copied: dict[str, str], slug: str
) -> None:
    handout = examples[slug]
    pages = copied[slug].split("\f")[:-1]
    assert 5 < len(pages) <= 24
    assert len(handout.reader.pages) == len(pages)
    body = "\f".join(pages[1:])  # the cover lists the same titles in its contents
    steps = handout.steps()
    starts = [body.index(f"\n{n}. {title}\n") for n, title in steps]
    assert starts == sorted(starts)
    for (number, title), start, end in zip(steps, starts, [*starts[1:], len(body)], strict=True):
        part = body[start:end]
        # pdftotext may read a footer between the sign-off's fields: allow a short gap
        signed = re.search(
            rf"Step {number} done.{{0,80}}Date.{{0,80}}Time.{{0,80}}Initials", part, re.S
        )
        decided = re.search(r"Decided by \(name\).*Signature.*Date.{0,80}Time", part, re.S)
        assert signed or decided, f"{number}. {title}"


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_the_client_signs_where_nothing_undoes_the_step(
    examples: dict[str, Handout], copied: dict[str, str], slug: str
) -> None:
    # deleting the batch and retiring the old server: the client's name and signature beside
    # the consultant's initials; no other step but the go/no-go boxes asks the client to sign
    body = "\f".join(copied[slug].split("\f")[1:-1])  # after the cover's contents
    steps = examples[slug].steps()
    starts = [body.index(f"\n{n}. {title}\n") for n, title in steps]
    signed = []
    for (number, title), start, end in zip(steps, starts, [*starts[1:], len(body)], strict=True):
        part = body[start:end]
        if "For the client (name)" in part and "Decided by (name)" not in part:
            # pdftotext reads the box's fields in columns: each is there, in no fixed order
            for field in (f"Step {number} done", "Initials", "Signature"):
                assert field in part, (title, field)
            signed.append(title)
    assert signed == ["Delete the batch", "Retire the old server"]


def test_where_the_check_scripts_come_from_is_said_before_the_steps(
    copied: dict[str, str],
) -> None:
    for text in copied.values():
        pages = text.split("\f")
        # after the cover, whose contents name the section too
        values = next(i for i, page in enumerate(pages) if i and "Values to type" in page)
        assert "They are on the site's check scripts page and in check-scripts.pdf" in " ".join(
            pages[values].split()
        )
        assert "\nCheck scripts\n" in f"\n{pages[values]}\n"
        assert sum(page.count("\nCheck scripts\n") for page in pages) == 1


def test_the_first_page_says_how_to_read_the_wrap_mark(copied: dict[str, str]) -> None:
    for text in copied.values():
        first = " ".join(text.split("\f")[0].split())
        assert "Wrapped commands. A command too long for the line ends with \u21b5" in first
        assert "leave out the mark, the line break and the indent, and nothing else" in first
        assert "A space before \u21b5 is part of the command" in first


QUOTED = (
    'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeSA\\Parameters" '
    '/v "NSPI interface protocol sequences" /t REG_MULTI_SZ /d "ncacn_http:6004" /f'
)


@pytest.mark.parametrize("width", range(37, 90, 6))  # the quoted name is 35 wide
def test_a_quoted_string_that_fits_is_never_broken(width: int) -> None:
    lines = wrap(QUOTED, width)
    assert unwrap("\n    ".join(lines)) == QUOTED
    for line in lines:
        inside = line.count('"') % 2 == 1  # a quote opened and not closed on this line
        assert not (inside and "NSPI" in line and "sequences" not in line), lines


def test_a_grid_column_is_as_wide_as_its_widest_value_while_the_line_has_room() -> None:
    spf = "v=spf1 include:spf.protection.outlook.com -all"
    rows = [
        (
            ("MX, priority 0",),
            (Code("example.com."),),
            (Code("example-com.mail.protection.outlook.com"),),
            ("3600",),
        ),
        (("TXT (SPF)",), (Code("example.com."),), (Code(spf),), ("3600",)),
    ]
    widths = grid_widths(("Type", "Name", "Value", "TTL"), rows)
    assert len(wrap(spf, widths[2])) == 1
    assert widths == [15, 13, 47, 5]
    wide = [((Code("x" * 70),), (Code("y" * 70),))]
    narrowed = grid_widths(("A", "B"), wide)
    assert sum(narrowed) <= GRID_CHARS and narrowed[0] == narrowed[1]


def test_a_quoted_value_longer_than_the_line_still_breaks_after_a_semicolon(
    examples: dict[str, Handout],
) -> None:
    ports = examples["northwind-traders"].values.valid_ports
    command = f'reg add HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy /v ValidPorts /d "{ports}" /f'
    lines = wrap(command, 60)
    assert unwrap("\n  ".join(lines)) == command
    assert all(len(line) <= 60 for line in lines)
    assert sum(line.endswith(";\u21b5") for line in lines) >= 2


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_the_pdf_is_tagged_with_its_title_and_language(
    examples: dict[str, Handout], slug: str
) -> None:
    reader = examples[slug].reader
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert catalog["/MarkInfo"]["/Marked"] == BooleanObject(True)
    assert catalog["/Lang"] == "en"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == BooleanObject(True)
    assert reader.metadata is not None
    assert reader.metadata["/Title"] == f"{examples[slug].values.client}: cutover handout"
    roles = structure_roles(catalog["/StructTreeRoot"])
    steps = len(examples[slug].steps())
    assert roles.count("/H3") >= steps and "/Table" in roles and "/L" in roles
    figures = [n for n in structure_nodes(catalog["/StructTreeRoot"]) if n.get("/S") == "/Figure"]
    assert figures and all(str(f.get("/Alt", "")).startswith("Migration path for") for f in figures)


def test_the_scripts_appendix_is_tagged(tmp_path: Path) -> None:
    from generator.handout import write_scripts_appendix

    catalog = PdfReader(write_scripts_appendix(tmp_path)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog and catalog["/MarkInfo"]["/Marked"] == BooleanObject(True)


@pytest.fixture(scope="module")
def four_servers_letter(four_servers: Handout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four-server client on Letter: its long steps cannot fit on one page."""
    out = tmp_path_factory.mktemp("four-letter") / "four-servers.pdf"
    return write_handout(four_servers.values, four_servers.revision, out, "letter")


def test_letter_shows_continued_exactly_where_a_step_continues(
    four_servers: Handout, four_servers_letter: Path, alpine_letter: Printed
) -> None:
    printed = [(four_servers.values, four_servers.revision, four_servers_letter)]
    alpine = derive(load_client(EXAMPLES / "alpine-logistics.yml"), "alpine-logistics")
    printed.append((alpine, alpine_letter.revision, alpine_letter.pdf))
    continued = 0
    for values, rev, pdf in printed:
        pages = pdftotext(pdf).split("\f")[:-1]
        expected: dict[int, set[str]] = {i: set() for i in range(len(pages))}
        for step in build_procedure(values, rev).steps():
            heading = f"{step.number}. {step.title}"
            first = next(i for i, p in enumerate(pages) if i and f"\n{heading}\n" in f"\n{p}")
            done = f"Step {step.number} done" if step.signoff != "go-no-go" else "Decided by"
            last = next(i for i, p in enumerate(pages) if i >= first and done in p)
            for i in range(first + 1, last + 1):
                expected[i].add(f"{heading} (continued)")
        for i, page in enumerate(pages):
            shown = {line.strip() for line in page.splitlines() if line.endswith("(continued)")}
            assert shown == expected[i], (pdf.name, i + 1)
            continued += len(shown)
    assert continued >= 2  # steps did cross pages, and were marked


def code_values(procedure: Procedure) -> list[str]:
    """Every value the procedure prints in code: commands, file lines and inline values."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Code):
            out.append(node.value)
        elif isinstance(node, Command):
            out.extend(node.text.splitlines())
        elif isinstance(node, (tuple, list)):
            for item in node:
                walk(item)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                walk(getattr(node, name))

    walk(procedure)
    return out


def hyphen_breaks(text: str, values: list[str]) -> list[str]:
    """Places where a line ends in a hyphen and the break falls inside one of `values`."""
    lines = [line for line in text.splitlines() if line.strip()]
    found = []
    for line, after in zip(lines, lines[1:], strict=False):
        if line.rstrip().endswith("-"):
            joined = line.split()[-1] + after.split()[0]
            if any(joined in value for value in values):
                found.append(joined)
    return found


def test_no_value_is_broken_at_a_hyphen(
    examples: dict[str, Handout], four_servers: Handout
) -> None:
    texts = [(h, pdftotext(h.pdf, "-raw")) for h in all_handouts(examples, four_servers)]
    for handout, text in texts:
        values = code_values(build_procedure(handout.values, handout.revision))
        assert any("-" in value for value in values)
        assert hyphen_breaks(text, values) == [], handout.values.slug


def test_a_cover_of_two_pages_prints_what_one_document_prints(tmp_path: Path) -> None:
    """The handout's PDF is laid out as two documents, the cover last (`handout_bytes`); a
    cover longer than a page moves every page number after it, as one document does."""
    values = derive(Client.model_validate(client_dict()), "test-client")
    procedure = build_procedure(values, "0123456789")
    long = replace(procedure, summary=procedure.summary * 3)
    two, one = tmp_path / "two.pdf", tmp_path / "one.pdf"
    two.write_bytes(handout_bytes(long, values))
    one.write_bytes(handout_pdf(render_procedure_html(long, values)))  # target-counter
    pages = pdftotext(two).split("\f")[:-1]
    cover = next(i for i, page in enumerate(pages) if "\nValues to type\n" in page)
    assert cover >= 2  # the test still makes a long cover
    assert all(f"Page {i} of {len(pages)}" in pages[i - 1] for i in range(1, cover + 2))
    assert two.read_bytes() == one.read_bytes()  # links, bookmarks and tags too


def test_weasyprints_stylesheet_trimmed_prints_the_same_pdf() -> None:
    """The handouts are laid out without the rules of WeasyPrint's stylesheet for HTML that
    match every element (`_trimmed_html`): none of them styles anything a handout holds."""
    from weasyprint import HTML

    from generator.handout import PDF_OPTIONS, _weasyprint

    engine = _weasyprint()
    assert engine.page is not HTML  # trimmed: WeasyPrint's stylesheet still has those rules
    assert engine.page(string="<p>x</p>")._ua_stylesheets() != HTML(string="")._ua_stylesheets()
    values = derive(Client.model_validate(client_dict()), "test-client")
    page = render_handout_html(values, "0123456789")
    assert "<ul" in page and "<ol" in page and "<table" in page
    own = HTML(string=page, url_fetcher=engine.fetcher).write_pdf(
        font_config=engine.fonts, stylesheets=[engine.sheet], **PDF_OPTIONS
    )
    assert handout_pdf(page) == own


def test_hyphen_check_catches_a_value_broken_at_a_hyphen(tmp_path: Path) -> None:
    value = "alpine-freight-com.mail.protection.outlook.com"
    pdf = tmp_path / "narrow.pdf"
    narrow = f"<p style='width: 25mm'>{value}</p>"
    pdf.write_bytes(pdf_bytes(f"<html lang='en'><body>{narrow}</body></html>"))
    assert hyphen_breaks(pdftotext(pdf, "-raw"), [value]) == [
        "alpine-freight-",
        "freight-com.mail.protection.outlook.com",
    ]
    assert value not in pdftotext(pdf)  # and the default reading loses the hyphens


def test_a_value_left_empty_prints_as_a_labelled_blank() -> None:
    values = derive(Client.model_validate(client_dict()), "test-client")
    procedure = build_procedure(values, "0123456789")

    def blank_email(step: Step) -> Step:
        if step.id != "endpoint":
            return step
        form = next(b for b in step.body if isinstance(b, Form))
        fields = tuple(
            replace(f, value=(), typed=False) if f.name == "E-mail address" else f
            for f in form.fields
        )
        return replace(
            step, body=tuple(replace(form, fields=fields) if b is form else b for b in step.body)
        )

    phases = tuple(
        replace(ph, steps=tuple(blank_email(s) for s in ph.steps)) for ph in procedure.phases
    )
    sheet = tuple(
        replace(r, value=()) if r.what == "E-mail address" else r for r in procedure.sheet
    )
    facts = tuple((n, ()) if n == "Planned MX switch" else (n, v) for n, v in procedure.facts)
    blanked = replace(procedure, phases=phases, sheet=sheet, facts=facts)
    page = render_procedure_html(blanked, values)
    blank = '<span class="blank wide"></span>'
    label = '<span class="nb">E-mail</span> address'  # a word with a hyphen stays whole
    assert f'<tr><th>{label}</th><td class="by-hand">{blank}</td></tr>' in page
    assert f'<tr><td>{label}</td><td class="by-hand">{blank}</td>' in page
    assert f"<tr><th>Planned MX switch</th><td>{blank}</td></tr>" in page
    assert "jane@testclient.com" in render_procedure_html(procedure, values)  # only if empty
    assert page.count("jane@testclient.com") < render_procedure_html(procedure, values).count(
        "jane@testclient.com"
    )


# --- helpers reading the PDF -----------------------------------------------------------------


def assert_text_inside(page: PageObject) -> None:
    """Every text run's glyph boxes lie within the page, 5 mm clear of each edge."""
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    edge = 14.0  # 5 mm: what a printer may not reach
    for run, corners in glyph_boxes(page):
        for x, y in corners:
            assert edge <= x <= width - edge and edge <= y <= height - edge, (
                f"text {run!r} outside the page at ({x:.1f}, {y:.1f})"
            )


def glyph_boxes(page: PageObject) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each text-showing operator's text and the four corners of its glyphs' box, in points.

    WeasyPrint writes CID fonts with two-byte glyph ids (Identity-H); the advance of a run is
    the sum of its glyphs' widths from the font's /W array, plus the TJ adjustments. The box
    spans the font's descent to its ascent.
    """
    fonts = {name: _widths(font.get_object()) for name, font in page["/Resources"]["/Font"].items()}
    state: dict[str, Any] = {}
    runs: list[tuple[str, list[tuple[float, float]]]] = []

    identity = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]

    def visit(op: bytes, args: list[Any], cm: list[float], tm: list[float]) -> None:
        if op == b"Do":
            # pypdf visits a form XObject (the SVG diagram) right after its Do, restarting
            # from the identity matrix: the page matrix at the Do places the form's text
            state["form"] = list(cm)
        elif [float(v) for v in cm] != identity:
            state.pop("form", None)  # back on the page itself
        if op == b"Tf":
            state["font"], state["size"] = fonts[args[0]], float(args[1])
        elif op in (b"TJ", b"Tj"):
            widths, default = state["font"]
            size = state["size"]
            advance = 0.0
            shown = b""
            for item in args[0] if op == b"TJ" else [args[0]]:
                if isinstance(item, (int, float)):
                    advance -= float(item) / 1000
                    continue
                raw = getattr(item, "original_bytes", None) or bytes(item)
                shown += raw
                for i in range(0, len(raw), 2):
                    advance += widths.get(int.from_bytes(raw[i : i + 2], "big"), default) / 1000
            corners = [(dx * advance * size, dy * size) for dx in (0, 1) for dy in (-0.24, 0.93)]
            placed = [_apply(_apply(c, tm), cm) for c in corners]
            if "form" in state:
                placed = [_apply(c, state["form"]) for c in placed]
            runs.append((shown.hex(), placed))

    page.extract_text(visitor_operand_before=visit)
    assert runs, "no text found on the page"
    return runs


def _apply(point: tuple[float, float], m: list[float]) -> tuple[float, float]:
    """A point through a PDF matrix [a b c d e f]."""
    x, y = point
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _widths(font: Any) -> tuple[dict[int, float], float]:
    """Glyph widths (per 1000 em) of a Type0 font from its descendant's /W array, and /DW."""
    descendant = font["/DescendantFonts"][0].get_object()
    spec = list(descendant.get("/W", []))
    widths: dict[int, float] = {}
    i = 0
    while i < len(spec):
        first, second = int(spec[i]), spec[i + 1]
        if isinstance(second, list):
            for k, width in enumerate(second):
                widths[first + k] = float(width)
            i += 2
        else:
            for cid in range(first, int(second) + 1):
                widths[cid] = float(spec[i + 2])
            i += 3
    return widths, float(descendant.get("/DW", 1000))


def test_the_diagram_and_saved_checks_are_in_the_handout(tmp_path: Path) -> None:
    from generator.clients import load_values, saved_evidence

    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    source = Path(__file__).resolve().parent.parent / "runbooks" / "northwind-traders.yml"
    client_file = runbooks / source.name
    client_file.write_bytes(source.read_bytes())
    values = load_values(runbooks, "northwind-traders")
    before = revision(client_file)
    assert saved_evidence(client_file) is None
    (runbooks / "evidence").mkdir()
    (runbooks / "evidence" / "northwind-traders.json").write_text(
        '{"checked_at": "2026-11-20T09:30:00Z", "checked_from": "laptop <b>7</b>",'
        ' "tool_version": "0.1.0", "results": [{"check": "tls", "target":'
        ' "mail.northwind.com:443", "status": "fail", "detail": "expired <script>"}]}'
    )
    assert revision(client_file) != before  # new results print a new handout
    page = render_handout_html(values, revision(client_file), evidence=saved_evidence(client_file))
    assert "<svg" in page and "Migration path for Northwind Traders" in page
    assert "Checked 2026-11-20 09:30 UTC" in page
    assert "laptop &lt;b&gt;7&lt;/b&gt;" in page and "<script>" not in page
    assert "0 passed, 0 warned, 1 failed, 0 skipped" in page


def test_saved_checks_may_quote_a_placeholder_word_in_the_handout() -> None:
    # as on the page (test_page.py): a laptop named tbd-pc no longer stops the handout, and the
    # same words from the generator still do
    from tests.test_page import saved_checks_quoting

    values = derive(Client.model_validate(client_dict()), "test-client")
    saved = saved_checks_quoting(values, "tbd-pc", "trusted; TODO: renew <host> in May")
    procedure = build_procedure(values, "0123456789", saved)
    for page in [
        render_handout_html(values, "0123456789", evidence=saved),
        render_procedure_html(procedure, values, part=Portion("body")),
    ]:
        assert "Checked 2026-11-30 09:00 UTC from\ntbd-pc: 1 passed" in page
        assert 'from <span class="nb">tbd-pc</span>: 1 passed' in page  # the note at the gate
        assert "trusted; TODO: renew &lt;host&gt; in May" in page
    broken = values.model_copy(update={"admin": "TBD@testclient.com"})
    for checked_from, detail in [("TBD@testclient.com", "ok"), ("pc", "TBD@testclient.com")]:
        saved = saved_checks_quoting(values, checked_from, detail)
        assert "TBD@testclient.com" in render_handout_html(values, "0123456789", evidence=saved)
        with pytest.raises(RenderError, match="TBD"):
            render_handout_html(broken, "0123456789", evidence=saved)
