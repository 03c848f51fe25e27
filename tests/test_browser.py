"""The site in a real headless Chromium, driven by Playwright: what a consultant clicks.

Debian's Chromium is used (`apt-get install chromium`); Playwright's own browser download does
not work offline. Without a browser these tests skip, unless REQUIRE_BROWSER=1 (as in CI),
where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.cli import load_values
from tests.conftest import ROOT, run_cli

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium, or a skip (a failure under REQUIRE_BROWSER=1)."""
    missing = not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM))
    if missing:
        reason = f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No request log in the test output."""


@pytest.fixture(scope="module")
def served(built_site: Path) -> Iterator[str]:
    """The built site served over HTTP on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def search(page: Any, query: str) -> Any:
    """Type a query into Material's search once its index is ready; the first result link."""
    page.wait_for_function("() => document.querySelector('[data-md-component=search]')")
    page.keyboard.press("/")
    page.locator("input.md-search__input").wait_for(state="visible")
    # the index loads in a worker: wait until a query gets an answer
    page.keyboard.type(query, delay=20)
    link = page.locator(".md-search-result__item a").first
    link.wait_for(timeout=15_000)
    return link


def new_page(browser: Any, **context: Any) -> Any:
    """A fresh page whose failed requests (anything off the machine) are recorded."""
    page = browser.new_context(**context).new_page()
    page.failed = []
    page.on("requestfailed", lambda request: page.failed.append(request.url))
    return page


def test_follow_a_client_and_copy_its_validports(browser: Any, served: str) -> None:
    expected = load_values(ROOT / "runbooks", "northwind-traders").valid_ports
    page = new_page(browser, permissions=["clipboard-read", "clipboard-write"])
    page.goto(served + "/")
    page.get_by_role("link", name="Northwind Traders").first.click()
    page.wait_for_url("**/clients/northwind-traders/")
    block = page.locator("pre").filter(has_text=expected).filter(has_not_text="reg add").first
    block.scroll_into_view_if_needed()
    assert block.inner_text().strip() == expected
    block.hover()
    block.locator("button[data-md-type=copy]").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == expected  # exactly the value: no trailing newline, no prompt
    assert page.failed == []


def test_copying_a_command_gives_one_line_without_newline(browser: Any, served: str) -> None:
    expected = load_values(ROOT / "runbooks", "harbor-dental").registry.set
    page = new_page(browser, permissions=["clipboard-read", "clipboard-write"])
    page.goto(served + "/clients/harbor-dental/")
    block = page.locator("pre").filter(has_text="reg add").filter(has_text="ValidPorts").first
    block.scroll_into_view_if_needed()
    block.hover()
    block.locator("button[data-md-type=copy]").click()
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_find_a_client_by_its_public_name(browser: Any, served: str) -> None:
    page = new_page(browser)
    page.goto(served + "/")
    result = search(page, "remote.harbordental.com")
    assert "clients/harbor-dental" in (result.get_attribute("href") or "")
    assert page.failed == []


def test_home_table_filters_as_you_type(browser: Any, served: str) -> None:
    page = new_page(browser)
    page.goto(served + "/")
    rows = page.locator("#clients-table tbody tr")
    assert rows.count() == 4
    page.locator("#client-filter").fill("harbor")
    visible = [r for r in rows.all() if r.is_visible()]
    assert [r.inner_text().split("\t")[0].strip() for r in visible] == ["Harbor Dental Group"]


def test_tabs_switch_between_telnet_powershell_and_nc(browser: Any, served: str) -> None:
    page = new_page(browser)
    page.goto(served + "/clients/northwind-traders/")
    tabs = page.locator(".tabbed-set").first
    tabs.locator(".tabbed-labels label", has_text="PowerShell").click()
    command = "Test-NetConnection -ComputerName mail.northwind.com -Port 443"
    assert tabs.get_by_text(command).is_visible()
    assert not tabs.get_by_text("telnet mail.northwind.com 443").is_visible()


def test_printing_shows_every_tab_with_its_label(browser: Any, served: str) -> None:
    page = new_page(browser)
    page.goto(served + "/clients/northwind-traders/")
    page.emulate_media(media="print")
    tabs = page.locator(".tabbed-set").first
    for text in ["telnet mail.northwind.com 443", "nc -vz mail.northwind.com 443"]:
        assert tabs.get_by_text(text).is_visible()
    labels = tabs.locator(".print-label")
    assert [labels.nth(i).inner_text() for i in range(labels.count())] == [
        "runbook tool",
        "check scripts",
        "openssl",
        "telnet",
        "PowerShell",
        "nc",
    ]
    assert tabs.get_by_text("python3 ports.py mail.northwind.com:443").is_visible()


def test_the_bundle_works_from_file_urls(browser: Any, tmp_path: Path, site_runbooks: Path) -> None:
    out = tmp_path / "bundle.zip"
    result = run_cli("bundle", "harbor-dental", "--runbooks", str(site_runbooks), "-o", str(out))
    assert result.code == 0, result.err
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "unzipped")
    index = tmp_path / "unzipped" / "harbor-dental-runbook" / "index.html"
    page = new_page(browser)
    page.goto(index.as_uri())
    page.get_by_role("link", name="Harbor Dental Group").first.click()
    page.wait_for_url("**/clients/harbor-dental.html")
    assert page.locator("pre").filter(has_text="SBS01:6001-6002;").count() > 0
    result_link = search(page, "sbs01.harbordental.local")
    assert "harbor-dental" in (result_link.get_attribute("href") or "")
