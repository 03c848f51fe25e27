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

from generator.clients import load_values
from tests.conftest import ROOT, mkdocs_args, run_cli, site_env

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


def touch_phone(browser: Any, url: str) -> tuple[Any, Any]:
    """A phone-sized context with a touch screen (its own storage) and a page open at `url`."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.goto(url)
    return context, page


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


# --- the site in the field: picture, phone, progress, print, search, palette ------------------

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# The drawing as the browser lays it out: the scale, every text's size and box, every box and
# every line, all in CSS px of the viewport.
_GEOMETRY = """(svg) => {
  const r = svg.getBoundingClientRect();
  const scale = r.width / svg.viewBox.baseVal.width;
  const box = (e) => {
    const b = e.getBoundingClientRect();
    return [b.left, b.top, b.right, b.bottom];
  };
  const m = svg.getScreenCTM();
  const point = (x, y) => new DOMPoint(x, y).matrixTransform(m);
  return {
    width: r.width,
    texts: [...svg.querySelectorAll('text')].map(t => ({
      text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize) * scale, box: box(t)})),
    rects: [...svg.querySelectorAll('rect')].map(box),
    lines: [...svg.querySelectorAll('line')].map(l => {
      const a = point(l.x1.baseVal.value, l.y1.baseVal.value);
      const b = point(l.x2.baseVal.value, l.y2.baseVal.value);
      return [a.x, a.y, b.x, b.y];
    }),
  };
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    """Whether two boxes [left, top, right, bottom] share more than a hairline."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def _crosses(box: list[float], line: list[float]) -> bool:
    """Whether a straight line passes through a box (sampled finely along the line)."""
    x1, y1, x2, y2 = line
    steps = max(2, int(max(abs(x2 - x1), abs(y2 - y1))))
    for i in range(steps + 1):
        x, y = x1 + (x2 - x1) * i / steps, y1 + (y2 - y1) * i / steps
        if box[0] + 0.5 < x < box[2] - 0.5 and box[1] + 0.5 < y < box[3] - 0.5:
            return True
    return False


def check_drawing(geometry: dict[str, Any]) -> None:
    """No text below 10 px, none overlapping another, on a line, or across a box's edge."""
    texts = geometry["texts"]
    assert texts
    for t in texts:
        assert t["size"] >= 10, t
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), (a["text"], b["text"])
        for line in geometry["lines"]:
            assert not _crosses(a["box"], line), (a["text"], line)
        for rect in geometry["rects"]:
            inside = (
                rect[0] <= a["box"][0] and a["box"][2] <= rect[2]
                and rect[1] <= a["box"][1] and a["box"][3] <= rect[3]
            )  # fmt: skip
            assert inside or not _overlap(a["box"], rect), (a["text"], rect)


@pytest.mark.parametrize("slug", ["alpine-logistics", "harbor-dental", "northwind-traders"])
def test_the_topology_picture_is_wide_and_legible(browser: Any, served: str, slug: str) -> None:
    page = new_page(browser, viewport=DESKTOP)
    page.goto(f"{served}/clients/{slug}/")
    svg = page.locator("svg.topology")
    geometry = svg.evaluate(_GEOMETRY)
    assert geometry["width"] >= 500
    check_drawing(geometry)
    # on a phone it keeps its readable size and scrolls inside its frame
    phone = new_page(browser, viewport=PHONE)
    phone.goto(f"{served}/clients/{slug}/")
    geometry = phone.locator("svg.topology").evaluate(_GEOMETRY)
    assert all(t["size"] >= 10 for t in geometry["texts"])
    frame = phone.locator(".topology-scroll")
    assert frame.evaluate("e => getComputedStyle(e).overflowX") == "auto"


LONG = "mailbox-server-{}.headquarters.northwind.local"  # 46 characters
LONG_NAMES = {
    "front-end, two servers, a GC, exposed ports": {
        "exchange.service_pack": 0,
        "exchange.servers": [
            {"name": "EXCHANGE-MBX-01", "fqdn": LONG.format(1)},
            {"name": "EXCHANGE-MBX-02", "fqdn": LONG.format(2)},
        ],
        "exchange.global_catalogs": [{"name": "DC01", "fqdn": LONG.format(3)}],
        "rpc_proxy.public_fqdn": "webmail-and-rpc.northwind-traders-group.com",
        "rpc_proxy.front_end": {"name": "FRONTEND-01", "fqdn": LONG.format(4)},
        "rpc_proxy.expose_rpc_ports": True,
    },
    "proxy on the mailbox server, two GCs": {
        "exchange.service_pack": 0,
        "exchange.servers": [{"name": "SBS01", "fqdn": LONG.format(1), "global_catalog": True}],
        "exchange.global_catalogs": [
            {"name": "DC01", "fqdn": LONG.format(2)},
            {"name": "DC02", "fqdn": LONG.format(3)},
        ],
        "rpc_proxy.public_fqdn": "remote.headquarters.northwind-traders.com",
    },
    "one server": {
        "exchange.servers": [{"name": "EXCHANGE-MBX-01", "fqdn": LONG.format(1)}],
        "rpc_proxy.public_fqdn": "remote.headquarters.northwind-traders.com",
    },
}


@pytest.mark.parametrize("case", LONG_NAMES)
def test_long_host_names_grow_the_boxes_and_stay_legible_on_paper(browser: Any, case: str) -> None:
    """46-character names: every label in its place, and 10 px or more at the handout's width
    (180 mm, 680 CSS px), where the drawing is printed across the page."""
    from generator.derive import derive
    from generator.diagram import topology_svg
    from generator.model import Client
    from tests.conftest import client_dict

    values = derive(Client.model_validate(client_dict(**LONG_NAMES[case])), "long-names")
    page = new_page(browser, viewport=DESKTOP)
    page.set_content(f'<div style="width: 680px">{topology_svg(values)}</div>')
    geometry = page.locator("svg").evaluate(_GEOMETRY)
    check_drawing(geometry)
    text = " ".join(t["text"] for t in geometry["texts"])
    assert LONG.format(1) in text and values.public_fqdn in text


PAGES = [
    "/",
    "/clients/alpine-logistics/",
    "/clients/harbor-dental/",
    "/clients/northwind-traders/",
    "/clients/evil-corp/",
    "/reference/client-file/",
    "/reference/check-scripts/",
    "/guides/getting-started/",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(browser: Any, served: str, path: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(served + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.failed == []


@pytest.mark.parametrize("slug", ["alpine-logistics", "harbor-dental", "northwind-traders"])
def test_validports_is_one_block_with_a_copy_button_on_a_phone(
    browser: Any, served: str, slug: str
) -> None:
    expected = load_values(ROOT / "runbooks", slug).valid_ports
    page = new_page(browser, viewport=PHONE)
    page.goto(f"{served}/clients/{slug}/")
    blocks = [b for b in page.locator("pre").all() if b.inner_text().strip() == expected]
    assert blocks
    for block in blocks:
        assert block.locator("button[data-md-type=copy]").count() == 1
    # a table never holds the value: it would wrap in a cell without a copy button
    assert page.locator("td", has_text=expected).count() == 0


def test_the_home_page_on_a_phone_is_cards_with_a_filter(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(served + "/")
    rows = page.locator("#clients-table tbody tr")
    assert rows.count() == 4
    for row in rows.all():
        box = row.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        last = row.locator("td").last
        assert last.is_visible() and "Last check" in last.evaluate(
            "e => getComputedStyle(e, '::before').content"
        )
        for name in row.locator("code").all():  # a host name is one line, never broken
            assert name.evaluate("e => e.getClientRects().length") == 1, name.inner_text()
    status = page.locator("#client-filter-status")
    assert status.get_attribute("aria-live") == "polite"
    assert status.inner_text() == "4 clients."
    field = page.locator("#client-filter")
    field.focus()
    assert field.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    field.fill("harbor")
    assert status.inner_text() == "1 of 4 clients match \u201charbor\u201d."
    assert [r.is_visible() for r in rows.all()].count(True) == 1
    assert not page.locator("#client-filter-none").is_visible()
    field.fill("no-such-client")
    assert status.inner_text() == "No client matches \u201cno-such-client\u201d."
    assert page.locator("#client-filter-none").is_visible()
    assert not any(r.is_visible() for r in rows.all())


def test_ticking_a_step_survives_a_reload_until_cleared(browser: Any, served: str) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(served + "/clients/northwind-traders/")
    boxes = page.locator("#step-2 ~ * .task-list-item input[type=checkbox]")
    first = boxes.first
    assert first.is_enabled() and not first.is_checked()
    first.focus()  # the box itself is drawn by Material; its input takes the keyboard
    indicator = first.locator("xpath=..").locator(".task-list-indicator")
    ring = indicator.evaluate("e => getComputedStyle(e, '::before').outlineStyle")
    assert ring == "solid"
    page.keyboard.press("Space")
    assert first.is_checked()
    status = page.locator(".runbook-progress [role=status]")
    assert status.inner_text().startswith("1 of ")
    page.reload()
    assert page.locator("#step-2 ~ * .task-list-item input[type=checkbox]").first.is_checked()
    assert page.locator(".task-list-item input:checked").count() == 1
    # another client's page keeps its own ticks
    other = context.new_page()
    other.goto(served + "/clients/harbor-dental/")
    assert other.locator(".task-list-item input:checked").count() == 0
    assert other.locator(".task-list-item input:disabled").count() == 0
    # printed, a ticked box is an empty square to tick by hand
    page.emulate_media(media="print")
    ticked = page.locator(".task-list-item input:checked + .task-list-indicator").first
    style = ticked.evaluate(
        "e => { const s = getComputedStyle(e, '::before');"
        " return [s.maskImage || s.webkitMaskImage, s.backgroundColor, s.borderTopStyle]; }"
    )
    assert style[0] == "none" and style[2] == "solid"
    assert style[1] in ("rgba(0, 0, 0, 0)", "transparent")
    page.emulate_media(media="screen")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Clear my ticks").click()
    assert page.locator(".task-list-item input:checked").count() == 0
    page.reload()
    assert page.locator(".task-list-item input:checked").count() == 0
    context.close()


def test_a_box_ticked_by_tapping_it_on_a_phone_stays_ticked(browser: Any, served: str) -> None:
    context, page = touch_phone(browser, served + "/clients/harbor-dental/")
    box = page.locator("#step-6 ~ * .task-list-item input[type=checkbox]").first
    indicator = box.locator("xpath=..").locator(".task-list-indicator")
    indicator.scroll_into_view_if_needed()
    # the square Material draws is the indicator's ::before: tap its middle
    x, y = indicator.evaluate(
        "e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e, '::before');"
        " const size = parseFloat(s.width); const left = parseFloat(s.left);"
        " const top = parseFloat(s.top);"
        " return [r.left + left + size / 2, r.top + top + size / 2]; }"
    )
    page.touchscreen.tap(x, y)
    assert box.is_checked()
    page.reload()
    assert page.locator("#step-6 ~ * .task-list-item input[type=checkbox]").first.is_checked()
    context.close()


def test_every_step_has_a_done_box_on_the_page_as_on_paper(browser: Any, served: str) -> None:
    """The handout's "Step N done" line, on the page: a box at the end of every step, kept
    across a reload, counted, and cleared with the rest."""
    context, page = touch_phone(browser, served + "/clients/harbor-dental/")
    headings = page.locator("article > h3[id^=step-]")
    boxes = page.locator("input[data-step-done]")
    assert boxes.count() == headings.count() > 0
    for n in (1, headings.count()):
        # the box ends its step: the next step's heading (or a section's) comes right after it
        line = page.locator(f".runbook-step-done:has(input[data-step-done=step-{n}])")
        assert line.inner_text().strip() == f"Step {n} done"
        after = line.evaluate("e => e.nextElementSibling && e.nextElementSibling.tagName")
        assert after in ("H2", "H3")
        before = line.evaluate(
            "e => { let x = e.previousElementSibling; while (x && !/^H[23]$/.test(x.tagName))"
            " x = x.previousElementSibling; return x && x.id; }"
        )
        assert before == f"step-{n}"
    box = page.locator("input[data-step-done=step-3]")
    box.scroll_into_view_if_needed()
    size = box.bounding_box()
    assert size and size["width"] >= 20 and size["height"] >= 20
    row = page.locator(".runbook-step-done:has(input[data-step-done=step-3]) label").bounding_box()
    assert row and row["height"] >= 44  # a thumb's target
    box.tap()
    assert box.is_checked()
    status = page.locator(".runbook-progress [role=status]")
    assert status.inner_text() == (
        f"0 of {page.locator('.task-list-item input').count()} checks ticked, "
        f"1 of {headings.count()} steps done."
    )
    page.reload()
    assert page.locator("input[data-step-done=step-3]").is_checked()
    assert page.locator("input[data-step-done]:checked").count() == 1
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Clear my ticks").click()
    page.reload()
    assert page.locator("input[data-step-done]:checked").count() == 0
    context.close()


def test_what_the_handout_has_lines_for_is_written_down_on_the_page(
    browser: Any, served: str
) -> None:
    """The old MX a rollback needs, typed on the phone: kept across a reload, and not cleared
    with the ticks."""
    context, page = touch_phone(browser, served + "/clients/northwind-traders/")
    old_mx = page.get_by_label("Old MX of northwind.com")
    old_spf = page.get_by_label("Old SPF of northwind.com (or none)")
    assert old_mx.evaluate("e => e.tagName") == "INPUT"
    assert old_spf.evaluate("e => e.tagName") == "TEXTAREA"  # a record that runs long
    box = old_mx.bounding_box()
    assert box and box["width"] >= 300 and box["height"] >= 44
    old_mx.fill("10 mx.northwind.com.")
    old_spf.fill("v=spf1 mx a:relay.northwind.com -all")
    page.reload()
    assert page.get_by_label("Old MX of northwind.com").input_value() == "10 mx.northwind.com."
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("input[data-step-done=step-1]").check()
    page.get_by_role("button", name="Clear my ticks").click()
    page.reload()
    assert page.get_by_label("Old SPF of northwind.com (or none)").input_value() == (
        "v=spf1 mx a:relay.northwind.com -all"
    )
    assert page.locator("p.runbook-blanks").count() == 0  # every line became its fields
    other = context.new_page()
    other.goto(served + "/clients/harbor-dental/")
    assert all(f.input_value() == "" for f in other.locator("[data-written]").all())
    context.close()


def test_tapping_an_items_words_ticks_it_but_not_its_values(browser: Any, served: str) -> None:
    context, page = touch_phone(browser, served + "/clients/northwind-traders/")
    item = page.locator("#step-5 ~ * .task-list-item").first
    box = item.locator("input[type=checkbox]")
    item.scroll_into_view_if_needed()
    words = item.evaluate(
        "e => { const w = document.createTreeWalker(e, NodeFilter.SHOW_TEXT); let n;"
        " while ((n = w.nextNode())) { if (!n.parentElement.closest('code, a') &&"
        " n.textContent.trim().length > 3) { const r = document.createRange();"
        " r.setStart(n, 0); r.setEnd(n, 3); const b = r.getBoundingClientRect();"
        " return [b.left + b.width / 2, b.top + b.height / 2]; } } return null; }"
    )
    assert words
    page.touchscreen.tap(*words)
    assert box.is_checked()
    value = item.locator("code").first
    value.tap()  # a value is for reading or selecting: the box stays as it was
    assert box.is_checked()
    page.touchscreen.tap(*words)
    assert not box.is_checked()
    context.close()


def test_a_search_on_a_clients_page_lists_that_page_first(browser: Any, served: str) -> None:
    """Every client has a "Set ValidPorts": on Harbor Dental's page, its own comes first."""
    for slug in ("harbor-dental", "northwind-traders"):
        page = new_page(browser, viewport=DESKTOP)
        page.goto(f"{served}/clients/{slug}/")
        search(page, "Set ValidPorts")
        page.wait_for_timeout(300)  # the result list settles as the query is typed
        first = page.locator(".md-search-result__item a").first.get_attribute("href") or ""
        assert slug in first, first
        others = page.locator(".md-search-result__item a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert any(slug not in href for href in others)  # the others are still there


def test_a_phone_goes_to_any_step_from_the_top(browser: Any, served: str) -> None:
    """The phone hides the table of contents: a list after the title goes to each step."""
    page = new_page(browser, viewport=PHONE)
    page.goto(served + "/clients/northwind-traders/")
    jump = page.locator("nav.runbook-jump select")
    assert jump.is_visible()
    title = page.locator("article > h1")
    assert title.evaluate("e => e.nextElementSibling.matches('nav.runbook-jump')")
    options = jump.locator("option").all_inner_texts()[1:]
    steps = page.locator("article > h3[id^=step-]").count()
    assert len([o for o in options if o.startswith("Step ")]) == steps
    assert "Step 22: The migration endpoint" in options and "Values to type" in options
    assert not any("\u00b6" in o or o.endswith("Link") for o in options)
    jump.select_option("step-22")
    page.wait_for_function("location.hash === '#step-22'")
    heading = page.locator("#step-22").bounding_box()
    assert heading and 0 <= heading["y"] < PHONE["height"]
    assert jump.input_value() == ""  # ready to go to the same step again
    wide = new_page(browser, viewport=DESKTOP)
    wide.goto(served + "/clients/northwind-traders/")
    assert not wide.locator("nav.runbook-jump").is_visible()  # the wide screen has its TOC


def test_a_commands_end_is_never_under_its_copy_button(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(served + "/clients/northwind-traders/")
    ends = page.evaluate(
        r"""() => [...document.querySelectorAll('pre > code')]
          .filter(c => c.scrollWidth > c.clientWidth)
          .map(c => {
            c.scrollLeft = c.scrollWidth;
            const w = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
            let last = null, n;
            while ((n = w.nextNode())) { if (n.textContent.trim()) last = n; }
            const text = last.textContent.replace(/\s+$/, '');
            const r = document.createRange();
            r.setStart(last, text.length - 1); r.setEnd(last, text.length);
            const nav = c.parentElement.querySelector('.md-code__nav');
            return [text.slice(-8), r.getBoundingClientRect().right,
                    nav ? nav.getBoundingClientRect().left : Infinity];
          })"""
    )
    assert len(ends) > 10  # long commands do scroll on a phone
    for tail, right, button in ends:
        assert right <= button, tail


def test_a_phone_shows_headings_as_they_are(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(served + "/clients/northwind-traders/")
    # no heading has a line of its own for its (invisible) permalink
    extra = page.evaluate(
        """() => [...document.querySelectorAll('article h2, article h3')].filter(h => {
          const r = document.createRange();
          r.selectNodeContents(h.firstChild);
          const text = r.getBoundingClientRect().height;
          const style = getComputedStyle(h);
          const inner = h.getBoundingClientRect().height - parseFloat(style.paddingTop)
            - parseFloat(style.paddingBottom);
          return inner > text + parseFloat(style.lineHeight) / 2;
        }).map(h => h.id)"""
    )
    assert extra == []


def test_a_value_in_a_table_is_never_broken_on_a_phone(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(served + "/clients/northwind-traders/")
    values = page.locator(".table-scroll td code")
    assert values.count() > 4
    for value in values.all():
        assert value.evaluate("e => e.getClientRects().length") == 1, value.inner_text()
    spf = page.locator(".table-scroll td code", has_text="v=spf1").first
    assert spf.inner_text().endswith(" -all")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_drawing_wider_than_the_phone_says_it_scrolls(browser: Any, served: str) -> None:
    phone = new_page(browser, viewport=PHONE)
    phone.goto(served + "/clients/northwind-traders/")
    hint = phone.locator("figure.topology-figure figcaption .topology-hint")
    assert hint.inner_text().strip() == "Swipe the drawing sideways to see all of it."
    wide = new_page(browser, viewport=DESKTOP)
    wide.goto(served + "/clients/northwind-traders/")
    assert wide.locator(".topology-hint").count() == 0


def test_the_home_table_shows_every_column_on_a_desktop(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=DESKTOP)
    page.goto(served + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    for row in page.locator("#clients-table tbody tr").all():
        last = row.locator("td").last.bounding_box()
        assert last and last["x"] + last["width"] <= DESKTOP["width"]
        for name in row.locator("code").all():
            assert name.evaluate("e => e.getClientRects().length") == 1, name.inner_text()


def _contrast(fg: str, bg: str) -> float:
    """The WCAG contrast ratio of two `rgb(...)` colours."""

    def luminance(colour: str) -> float:
        channels = [float(c) / 255 for c in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_light_dark_toggle_and_a_legible_copy_icon_in_both(browser: Any, served: str) -> None:
    page = new_page(browser, viewport=DESKTOP)
    page.goto(served + "/clients/harbor-dental/")
    body = page.locator("body")
    schemes = []
    for _ in range(2):
        schemes.append(body.get_attribute("data-md-color-scheme"))
        button = page.locator("pre button[data-md-type=copy]").first
        colours = button.evaluate(
            "b => [getComputedStyle(b).color,"
            " getComputedStyle(b.closest('pre').querySelector('code')).backgroundColor]"
        )
        assert _contrast(*colours) >= 4.5, (schemes[-1], colours)
        page.locator("form[data-md-component=palette] label:visible").first.click()
    assert schemes == ["default", "slate"]


@pytest.mark.parametrize("slug", ["alpine-logistics", "harbor-dental", "northwind-traders"])
def test_printing_a_client_page(browser: Any, served: str, slug: str) -> None:
    import re

    page = new_page(browser, viewport=DESKTOP)
    page.goto(f"{served}/clients/{slug}/")
    pdf = page.pdf(format="A4")
    assert 1 < len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 24
    page.emulate_media(media="print")
    for chrome in [".md-code__nav", ".md-header", ".md-sidebar--primary", ".runbook-progress"]:
        for element in page.locator(chrome).all():
            assert not element.is_visible(), chrome
    text = page.locator("body").inner_text()
    assert "Copy to clipboard" not in text
    assert "def main(" not in text and "import socket" not in text


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("exch01.northwind.local", "northwind-traders"),
        ("exch01.alpine.local", "alpine-logistics"),
        ("exch02.alpine.local", "alpine-logistics"),
        ("fe01.alpine.local", "alpine-logistics"),
        ("sbs01.harbordental.local", "harbor-dental"),
        ("owa.alpinelogistics.com", "alpine-logistics"),
        ("alpine-freight.com", "alpine-logistics"),
        ("northwind.com", "northwind-traders"),
    ],
)
def test_a_clients_names_find_its_page_first(
    browser: Any, served: str, query: str, slug: str
) -> None:
    page = new_page(browser)
    page.goto(served + "/")
    result = search(page, query)
    assert f"clients/{slug}/" in (result.get_attribute("href") or "")


@pytest.fixture(scope="module")
def site_with_evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site of one client with saved check results (long details), served on 127.0.0.1."""
    import datetime as dt
    import subprocess

    from generator.clients import load_values
    from generator.evidence import (
        CheckedAgainst,
        Evidence,
        SavedResult,
        checked_targets,
        evidence_path,
        save,
    )

    root = tmp_path_factory.mktemp("evidence-site")
    runbooks = root / "runbooks"
    runbooks.mkdir()
    shutil.copy(ROOT / "runbooks" / "alpine-logistics.yml", runbooks)
    detail = "certificate owa.alpinelogistics.com valid until 2027-06-30, issued by a long CA name"
    results = [
        SavedResult(
            check="ports", target=f"owa.alpinelogistics.com:{p}", status="pass", detail=detail
        )
        for p in (443, 6001, 6002, 6004)
    ]
    results.append(
        SavedResult(
            check="rpcproxy", target="owa.alpinelogistics.com", status="warn", detail=detail * 2
        )
    )
    save(
        Evidence(
            checked_at=dt.datetime(2027, 2, 10, 9, 30, tzinfo=dt.timezone.utc),
            checked_from="consultant-laptop.alpine-logistics.example-office.local",
            tool_version="0.0.0",
            results=results,
            checked_against=CheckedAgainst(
                client="Alpine Logistics",
                public_fqdn="owa.alpinelogistics.com",
                targets=checked_targets(load_values(runbooks, "alpine-logistics"), None),
                dns=None,
                private_ca=False,
            ),
        ),
        evidence_path(runbooks, "alpine-logistics"),
    )
    out = root / "site"
    env = site_env(out, runbooks, RUNBOOK_HANDOUTS="off")
    build = subprocess.run(
        mkdocs_args(out), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stderr
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_saved_checks_fit_a_phone(browser: Any, site_with_evidence: str) -> None:
    page = new_page(browser, viewport=PHONE)
    page.goto(site_with_evidence + "/")
    last = page.locator("#clients-table tbody tr td").last
    assert last.is_visible() and "warn" in last.inner_text()
    box = last.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(site_with_evidence + "/clients/alpine-logistics/")
    # in the page itself (the contents list in the hidden drawer names it too)
    assert page.locator("article").get_by_role("heading", name="Latest checks").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
