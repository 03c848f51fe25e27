"""The MkDocs site built from client files by the hook: pages, downloads, reference, safety."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.clients import load_values
from generator.model import json_schema
from generator.site import schema_rows
from tests.conftest import EXAMPLE_SLUGS, ROOT, check_invocations, mkdocs_build
from tests.htmltext import code_blocks, visible_text

ALL_SLUGS = [*EXAMPLE_SLUGS, "evil-corp"]


def page_html(site: Path, slug: str) -> str:
    """The built HTML of a client's page."""
    return (site / "clients" / slug / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_a_page_per_client_with_its_exact_values(built_site: Path, slug: str) -> None:
    values = load_values(ROOT / "runbooks", slug)
    html = page_html(built_site, slug)
    blocks = code_blocks(html)
    assert values.valid_ports in blocks
    for line in [values.registry.query, values.registry.backup, values.registry.enabled_query]:
        assert line in blocks
    # a managed front-end's System Attendant writes ValidPorts: never typed (DOMAIN.md 3)
    assert (values.registry.set in blocks) == (not values.registry.managed_by_esm)
    for line in values.telnet.inside + values.telnet.outside:
        assert line in blocks
    for line in vars(values.powershell).values():
        assert line in blocks
    for record in values.dns:
        for line in [record.mx, record.spf, record.autodiscover]:
            assert line is None or line in blocks
    if values.registry.nspi:
        assert values.registry.nspi in blocks
    text = visible_text(html)
    assert values.client in text
    for field in [
        values.connectivity_analyzer.mutual_auth_principal,
        values.migration_endpoint.account,
        values.batch.name,
    ]:
        assert field in text
    assert "<svg" in html and "Migration path for" in html


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_validports_reg_download_bytes(built_site: Path, slug: str) -> None:
    values = load_values(ROOT / "runbooks", slug)
    data = (built_site / "clients" / slug / "validports.reg").read_bytes()
    assert data.startswith(b"Windows Registry Editor Version 5.00\r\n\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == 4
    assert b"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy]\r\n" in data
    assert f'"ValidPorts"="{values.valid_ports}"\r\n'.encode() in data
    # the .reg file is offered wherever ValidPorts is kept by hand
    offered = 'href="validports.reg"' in page_html(built_site, slug)
    assert offered == (not values.registry.managed_by_esm)
    blocks = code_blocks(page_html(built_site, slug))
    assert offered == any(f'"ValidPorts"="{values.valid_ports}"' in b for b in blocks)


def test_pages_carry_no_white_space_between_blocks_yet_keep_every_code_line(
    built_site: Path,
) -> None:
    html = page_html(built_site, "northwind-traders")
    assert not re.search(r"</(?:p|li|ul|section|div)>\s+<(?:p|li|ul|section|div)\b", html)
    reg = next(b for b in code_blocks(html) if "Windows Registry Editor Version 5.00" in b)
    assert reg.startswith("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE"), reg
    # nor indented lines outside code: the navigation's indentation showed as one space anyway
    outside = re.sub(r"<(pre|code|script|style|textarea)\b.*?</\1>", "", html, flags=re.S)
    assert not re.search(r"\n[ \t]", outside)
    assert '<span class="md-ellipsis">\nStep 1: Confirm the requirements\n</span>' in html


def test_check_scripts_are_offered_byte_for_byte(built_site: Path) -> None:
    scripts = sorted((ROOT / "checks").glob("[!_]*.py"))
    names = [p.name for p in scripts]
    assert names == ["dnsrecords.py", "ports.py", "rpcping.py", "rpcproxy.py", "validports.py"]
    for script in scripts:
        offered = built_site / "downloads" / "checks" / script.name
        assert offered.read_bytes() == script.read_bytes()


def test_home_page_lists_every_client_sorted_with_a_filter(built_site: Path) -> None:
    html = (built_site / "index.html").read_text(encoding="utf-8")
    assert 'id="client-filter"' in html
    rows = html.split('id="clients-table"')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 4
    text = visible_text(html)
    names = ["Alpine Logistics", "Harbor Dental Group", "Northwind Traders"]
    positions = [text.index(n) for n in names]
    assert positions == sorted(positions)
    assert "mail.northwind.com" in text and "remote.harbordental.com" in text
    assert 'href="clients/northwind-traders/"' in html


def test_client_file_reference_lists_every_field(built_site: Path) -> None:
    html = (built_site / "reference" / "client-file" / "index.html").read_text(encoding="utf-8")
    text = visible_text(html)
    rows = schema_rows()
    assert len(rows) > 35
    for row in rows:
        assert row.path in text, row.path
        assert row.description in text, row.path
    for name in json_schema()["properties"]:
        assert name in text
    assert "basic, ntlm" in text and "0 to 2,000" in text


def test_guides_are_published(built_site: Path) -> None:
    for guide in ["getting-started", "publishing", "checks"]:
        assert (built_site / "guides" / guide / "index.html").is_file(), guide


def test_free_text_cannot_inject_markup_anywhere(built_site: Path) -> None:
    for path in built_site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script>alert(" not in html, path
        assert "<img src=x" not in html, path
        assert "<b>Sons</b>" not in html, path
        assert not re.search(r"<a\s[^>]*href=\"javascript:", html), path
        assert not re.search(r"<[a-z]+\s[^>]*\bon(mouseover|click)=", html), path
        assert 'tracker.invalid/pixel.png"' not in html, path
    html = page_html(built_site, "evil-corp")
    text = visible_text(html)
    assert "<script>alert('name')</script> & <b>Sons</b> [x](javascript:alert(1))" in text
    assert "<img src=x onerror=alert('notes')>" in text
    assert "<title>Migration path for &lt;script&gt;alert(&#x27;name&#x27;)" in html


def test_search_index_holds_no_markup_from_free_text(built_site: Path) -> None:
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        assert "<script>" not in doc["text"] and "<img src" not in doc["text"]
        assert "<script>" not in doc["title"]


def test_print_stylesheet_shows_every_tab_with_its_label(built_site: Path) -> None:
    css = (built_site / "stylesheets" / "runbook.css").read_text(encoding="utf-8")
    printing = css.split("@media print")[1]
    assert ".tabbed-block { display: block !important; }" in printing
    assert ".print-label { display: block;" in printing
    html = page_html(built_site, "northwind-traders")
    for label in ["telnet", "PowerShell", "nc", "check script"]:
        assert f'<p><strong class="print-label">{label}</strong></p>' in html


def test_check_scripts_are_published_once_and_kept_out_of_search(built_site: Path) -> None:
    from generator.scripts import script_texts

    page = (built_site / "reference" / "check-scripts" / "index.html").read_text()
    blocks = code_blocks(page)
    index = (built_site / "search" / "search_index.json").read_text(encoding="utf-8")
    for name, text in script_texts().items():
        assert text == (ROOT / "checks" / name).read_text(encoding="utf-8")
        assert text.rstrip("\n") in blocks, name
        assert f'href="../../downloads/checks/{name}"' in page
        first_def = next(line for line in text.splitlines() if line.startswith("def "))
        assert first_def not in index, name
        for slug in ALL_SLUGS:
            assert first_def not in page_html(built_site, slug), (name, slug)
    assert "reference/check-scripts/" not in index
    assert (built_site / "handouts" / "check-scripts.pdf").read_bytes().startswith(b"%PDF-")


def test_each_step_shows_the_clients_check_invocations(built_site: Path) -> None:
    values = load_values(ROOT / "runbooks", "alpine-logistics")
    blocks = code_blocks(page_html(built_site, "alpine-logistics"))
    for line in check_invocations(values):
        assert line in blocks, line


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_a_handout_per_client_linked_from_its_page_and_the_home_table(
    built_site: Path, slug: str
) -> None:
    pdf = built_site / "handouts" / f"{slug}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert f'href="../../handouts/{slug}.pdf"' in page_html(built_site, slug)
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert f'href="handouts/{slug}.pdf"' in home


def test_no_files_are_written_into_docs(built_site: Path) -> None:
    assert not (ROOT / "docs" / "clients").exists()
    assert not (ROOT / "docs" / "reference").exists()


def test_no_external_resources(built_site: Path) -> None:
    html = page_html(built_site, "northwind-traders")
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html


def test_an_invalid_client_file_fails_the_build_with_its_position(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    good = (ROOT / "runbooks" / "northwind-traders.yml").read_text(encoding="utf-8")
    (runbooks / "northwind-traders.yml").write_text(good, encoding="utf-8")
    (runbooks / "broken.yml").write_text(good.replace("public_fqdn", "public_fqnd"))
    result = mkdocs_build(tmp_path / "site", runbooks)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{runbooks}/broken.yml:13:3: rpc_proxy.public_fqnd: unknown field" in result.stderr


def test_every_page_asks_search_engines_to_stay_away(built_site: Path) -> None:
    pages = list(built_site.rglob("*.html"))
    assert len(pages) > 8
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert '<meta name="robots" content="noindex, nofollow">' in html, path
    assert (built_site / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_pages_name_their_address_from_site_url(built_site: Path) -> None:
    html = page_html(built_site, "northwind-traders")
    assert '<link rel="canonical" href="http://localhost:8000/clients/northwind-traders/">' in html


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_a_clients_search_entries_are_small_and_hold_its_names(built_site: Path, slug: str) -> None:
    from generator.scripts import script_texts

    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    entries = [d for d in index["docs"] if d["location"].startswith(f"clients/{slug}/")]
    size = len(json.dumps(entries).encode("utf-8"))
    assert 2_000 < size < 15_000, size
    first = entries[0]
    assert first["location"] == f"clients/{slug}/" and first.get("boost", 1) > 1
    text = " ".join(d["title"] + " " + d["text"] for d in entries)
    html = page_html(built_site, slug)
    for title in re.findall(r'<h3 id="step-\d+">(Step \d+: [^<]+)<', html):
        assert title.replace("&amp;", "&") in text, title
    for name, source in script_texts().items():
        for line in source.splitlines():
            if line.startswith(("def ", "import ", "class ")):
                assert line not in text, (slug, name, line)


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_the_names_line_is_indexed_with_every_host_and_domain(built_site: Path, slug: str) -> None:
    values = load_values(ROOT / "runbooks", slug)
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    first = next(d for d in index["docs"] if d["location"] == f"clients/{slug}/")
    names = [values.public_fqdn, *[d.domain for d in values.dns]]
    names += [s.fqdn for s in values.topology.servers] + [s.name for s in values.topology.servers]
    names += [values.topology.proxy_host.fqdn]
    for name in names:
        assert f"<code>{name}</code>" in first["text"], name


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_every_step_running_a_check_script_links_to_its_source(built_site: Path, slug: str) -> None:
    from generator.scripts import SCRIPTS

    scripts_page = (built_site / "reference" / "check-scripts" / "index.html").read_text()
    html = page_html(built_site, slug)
    steps = html.split('<h3 id="step-')[1:]
    linked = 0
    for step in steps:
        step = step.split("<h2")[0]
        for name in SCRIPTS:
            if re.search(rf"<code[^>]*>python3 {re.escape(name)}", step):  # a plain block
                anchor = name.replace(".", "")
                assert f'href="../../reference/check-scripts/#{anchor}"' in step, (slug, name)
                assert f'id="{anchor}"' in scripts_page
                linked += 1
    assert linked >= 5


def test_the_reference_page_goes_by_section(built_site: Path) -> None:
    html = (built_site / "reference" / "client-file" / "index.html").read_text(encoding="utf-8")
    sections = re.findall(r'<h2 id="([^"]+)"', html)
    assert sections == [
        "top-level-values",
        "exchange",
        "rpc_proxy",
        "office365",
        "domains",
        "network",
        "mailboxes",
    ]
    assert "<table" not in html  # six columns do not fit a phone


def test_warnings_are_titled_in_words_and_link_to_their_step(built_site: Path) -> None:
    html = page_html(built_site, "alpine-logistics")
    summary = html.split("Points to watch (")[1].split("</div>")[0]
    links = re.findall(r'<a href="#(step-\d+)">([^<]+)</a>', summary)
    assert len(links) == len(load_values(ROOT / "runbooks", "alpine-logistics").warnings)
    for anchor, title in links:
        assert not re.fullmatch(r"[a-z0-9.-]+", title), title  # words, not a warning code
        step = html.split(f'<h3 id="{anchor}">')[1].split("<h3")[0]
        assert f'<p class="admonition-title">{title}</p>' in step, (anchor, title)
