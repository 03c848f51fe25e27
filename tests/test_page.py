"""The page layout: anchors, one command per block, warnings linked, free text inert."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from generator.derive import derive
from generator.errors import RenderError
from generator.model import Client
from generator.page import free, render_runbook
from generator.render import check_rendered, code, codeblock, markdown
from generator.steps import build_procedure
from tests.conftest import client_dict


def page(**changes: Any) -> str:
    """The page of the base client with changes."""
    values = derive(Client.model_validate(client_dict(**changes)), "test-client")
    return render_runbook(values, "0123456789")


def test_each_step_has_its_anchor_and_number_once() -> None:
    md = page()
    headings = re.findall(r"^### Step (\d+): (.+) \{ #step-(\d+) \}$", md, re.MULTILINE)
    assert [int(n) for n, _, _ in headings] == list(range(1, len(headings) + 1))
    assert all(n == anchor for n, _, anchor in headings)
    assert "Revision `0123456789`" in md


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "rpc_proxy.expose_rpc_ports": True,
            "exchange.servers": [
                {"name": "SBS01", "fqdn": "sbs01.corp.local", "global_catalog": True}
            ],
        },
        {"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}},
    ],
)
def test_every_command_block_holds_one_line(changes: dict[str, Any]) -> None:
    """A copied command must not run on paste: one command per block, nothing after it."""
    md = page(**changes)
    blocks = re.findall(r"^( *)```(bat|powershell|sh)\n(.*?)\n\1```", md, re.M | re.S)
    assert len(blocks) >= 30
    for _indent, _lang, body in blocks:
        assert "\n" not in body, body
        assert not body.startswith(("> ", "$ ", "C:\\>", "PS ")), body


def test_warnings_are_titled_in_words_and_link_to_their_step() -> None:
    md = page(network={"upstream_mbps": 4})
    endpoint = re.search(r"^### Step (\d+): The migration endpoint", md, re.MULTILINE)
    assert endpoint
    n = endpoint.group(1)
    assert f"- [Slow internet link](#step-{n})" in md
    step = md.split(f"{{ #step-{n} }}")[1].split("### Step")[0]
    assert '!!! warning "Slow internet link"' in step
    assert "(`slow-link-concurrency`)" in step


def test_free_text_cannot_inject_markup() -> None:
    md = page(
        client="<script>alert(1)</script> *Acme*",
        consultant="[x](javascript:alert(1)) alex-laptop.corp ~",
        notes="<img src=x onerror=alert(1)>\n[click](javascript:alert(2))\n# Heading\n- a *b*",
    )
    assert "<script>" not in md and "<img" not in md
    assert md.startswith("# &#60;script&#62;alert&#40;1&#41;&#60;/script&#62; &#42;Acme&#42;\n")
    assert "javascript:alert(1)" not in md
    assert "\\-" not in md.split("## Client notes")[0] and "\\~" not in md  # no literal backslashes
    assert "&#91;click&#93;(javascript:alert(2))" in md  # brackets no backslash can undo
    assert "  \n\\# Heading  \n- a *b*" in md


def test_free_text_reads_back_as_typed_in_the_built_page() -> None:
    from tests.htmltext import visible_text

    raw = "alex-laptop.corp ~ a_b *c* [d](e) <f> & g|h"
    assert visible_text(free(raw)) == raw


def test_two_renders_are_byte_identical() -> None:
    assert page() == page()


def test_leftover_template_syntax_is_refused() -> None:
    with pytest.raises(RenderError, match="still holds '\\{\\{'"):
        check_rendered("# Runbook\n{{ x }}\n", "acme")
    with pytest.raises(RenderError, match=r"acme:3: rendered page still holds 'TODO'"):
        check_rendered("# Runbook\n\nTODO: the value\n", "acme")
    with pytest.raises(RenderError, match="<server>"):
        check_rendered("telnet <server> 6001", "acme")
    assert check_rendered("telnet mail.testclient.com 443", "acme")


def test_a_placeholder_in_a_value_is_refused() -> None:
    values = derive(Client.model_validate(client_dict()), "test-client")
    broken = values.model_copy(update={"admin": "admin@example.com"})
    with pytest.raises(RenderError, match="example.com"):
        render_runbook(broken, "0123456789")


def test_filters() -> None:
    assert code("x`y") == "``x`y``"
    assert markdown("<b>") == "&lt;b&gt;"


def test_a_code_span_or_block_outgrows_the_backticks_it_holds() -> None:
    assert code("Set-X -Y 'a b'") == "`Set-X -Y 'a b'`"
    assert code("`x") == "`` `x ``"
    assert code("a``b") == "```a``b```"
    assert codeblock("a `b` c") == "```text\na `b` c\n```"
    assert codeblock("x\n````\ny", "sh") == "`````sh\nx\n````\ny\n`````"


def test_no_check_script_source_on_a_client_page() -> None:
    md = page()
    assert "def main(" not in md and "import socket" not in md
    assert "[the check scripts](../reference/check-scripts.md)" in md
    # where they come from is said before the first step that names one
    assert md.index("## Check scripts") < md.index("### Step 1: ")


def test_form_fields_are_copyable_blocks_not_table_cells() -> None:
    md = page()
    assert "| Field | Value |" not in md
    values = derive(Client.model_validate(client_dict()), "test-client")
    endpoint = values.migration_endpoint
    for value in [endpoint.account, endpoint.exchange_server, endpoint.rpc_proxy_server]:
        assert f"\n    ```text\n    {value}\n    ```" in md, value


def test_a_names_line_lists_hosts_public_name_and_domains() -> None:
    md = page(**{"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}})
    line = next(x for x in md.splitlines() if x.startswith('<p class="names"'))
    for name in ["mail.testclient.com", "fe01.corp.local", "exch01.corp.local", "FE01"]:
        assert f"`{name}`" in line, name
    assert "`EXCH01`" in line and "`testclient.com`" in line


def test_prose_is_kept_out_of_search_and_headings_stay_in() -> None:
    md = page()
    assert md.count("<section data-search-exclude markdown>") == md.count("</section>") > 20
    for quiet in re.findall(r"<section data-search-exclude markdown>(.*?)</section>", md, re.S):
        assert "### Step" not in quiet and "!!! warning" not in quiet
        assert "<section" not in quiet  # the search plugin cannot nest them


def test_below_and_above_point_at_something_there() -> None:
    for md in [page(), page(**{"rpc_proxy.expose_rpc_ports": True})]:
        for step in md.split("\n### ")[1:]:
            for match in re.finditer(r"\bbelow\b", step):
                assert "```" in step[match.end() :], step[: match.end()][-200:]
            for match in re.finditer(r"\bline above\b", step):
                assert "```" in step[: match.start()], step[: match.end()][-200:]


def test_commands_running_a_check_script_link_to_its_source() -> None:
    md = page()
    for name in ["ports.py", "rpcproxy.py", "validports.py", "dnsrecords.py"]:
        assert f"[{name}](../reference/check-scripts.md#{name.replace('.', '')})" in md, name
    # `scripts_used` skips a line without ".py": every script's name must end so
    from generator.scripts import SCRIPTS

    assert all(name.endswith(".py") for name in SCRIPTS)


def test_saved_checks_for_another_public_name_are_shown_as_stale() -> None:
    import datetime as dt

    from generator.check import CheckResult
    from generator.evidence import record

    values = derive(Client.model_validate(client_dict()), "test-client")
    results = [CheckResult("tls", "mail.testclient.com:443", "pass", "trusted")]
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    current = record(results, now, "0.1.0", values)
    fresh = render_runbook(values, "0123456789", current)
    assert "## Latest checks" in fresh and "out of date" not in fresh
    moved = values.model_copy(update={"public_fqdn": "remote.testclient.com"})
    stale = render_runbook(moved, "0123456789", current)
    assert '!!! warning "These results are out of date"' in stale
    assert "saved for the public name mail.testclient.com" in html.unescape(stale)


def test_a_stale_reason_quoting_the_client_name_is_inert() -> None:
    # the reason quotes both names as they are: a name holding a Markdown link once made a
    # live javascript: link in the stale warning, as the author's words are only HTML-escaped
    import datetime as dt

    import markdown as md

    from generator.check import CheckResult
    from generator.evidence import record

    values = derive(Client.model_validate(client_dict()), "test-client")
    results = [CheckResult("tls", "mail.testclient.com:443", "pass", "trusted")]
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    saved = record(results, now, "0.1.0", values)
    renamed = values.model_copy(update={"client": "Acme [x](javascript:alert(1)) *b*"})
    built = md.markdown(
        render_runbook(renamed, "0123456789", saved),
        extensions=["admonition", "attr_list", "md_in_html", "pymdownx.superfences"],
    )
    assert "saved for the client" in built
    assert '<a href="javascript' not in built and "<em>b</em>" not in built
    assert "Acme [x](javascript:alert(1)) *b*" in html.unescape(built)


def test_tbd_in_the_notes_is_the_consultants_own_word() -> None:
    from generator.handout import render_handout_html

    values = derive(Client.model_validate(client_dict(notes="Firewall owner: TBD.")), "x-client")
    assert "Firewall owner: TBD." in render_runbook(values, "0123456789")
    assert "Firewall owner: TBD." in render_handout_html(values, "0123456789")
    broken = values.model_copy(update={"admin": "TBD@testclient.com"})
    with pytest.raises(RenderError, match="TBD"):
        render_runbook(broken, "0123456789")


def saved_checks_quoting(values: Any, checked_from: str, detail: str) -> Any:
    """Saved check results for `values`, run from `checked_from`, one answering `detail`."""
    import datetime as dt

    from generator.check import CheckResult
    from generator.evidence import record

    results = [
        CheckResult("tls", "mail.testclient.com:443", "pass", detail),
        CheckResult("port", "mail.testclient.com:443", "fail", "refused"),
    ]
    saved = record(
        results, dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc), "0.1.0", values
    )
    return saved.model_copy(update={"checked_from": checked_from})


def test_saved_checks_may_quote_a_placeholder_word_on_the_page() -> None:
    # a laptop named tbd-pc, or a server's answer saying TODO, stopped `render` and the site:
    # the rule guards the generator's words, not the text it quotes, as with the notes
    values = derive(Client.model_validate(client_dict()), "test-client")
    saved = saved_checks_quoting(values, "tbd-pc", "trusted; TODO: renew <host> in May")
    shown = html.unescape(render_runbook(values, "0123456789", saved))
    assert "Saved 2026-11-30 09:00 UTC from tbd-pc" in shown  # the note at the gate
    assert "2026-11-30 09:00 UTC</time> from tbd-pc: 1 passed" in shown  # under Latest checks
    assert "| trusted; TODO: renew <host> in May |" in shown


def test_what_saved_checks_quote_never_hides_the_generators_placeholder() -> None:
    # the saved text is exempt where it is quoted, not wherever its words appear: a page whose
    # own words hold the same placeholder still fails
    values = derive(Client.model_validate(client_dict()), "test-client")
    broken = values.model_copy(update={"admin": "TBD@testclient.com"})
    for checked_from, detail in [("TBD@testclient.com", "ok"), ("pc", "TBD@testclient.com")]:
        saved = saved_checks_quoting(values, checked_from, detail)
        assert "TBD@testclient.com" in html.unescape(render_runbook(values, "0123456789", saved))
        with pytest.raises(RenderError, match="TBD"):
            render_runbook(broken, "0123456789", saved)


def test_code_in_the_notes_is_escaped_once() -> None:
    import markdown as md

    notes_text = (
        "Restart: `net stop x && net start x` <b>now</b>\n\n"
        "```sh {.x onclick=alert(1)}\nping host && echo <ok>\n```\n"
    )
    built = md.markdown(markdown(notes_text), extensions=["pymdownx.superfences", "attr_list"])
    assert "<code>net stop x &amp;&amp; net start x</code>" in built  # shows &&, not &amp;&amp;
    assert "&amp;amp;" not in built
    assert "&amp;&amp;</span>" in built and "&lt;ok&gt;" in built  # highlighted, escaped once
    assert "<b>" not in built and "onclick" not in built


def site_html(markdown_text: str) -> str:
    """Markdown converted with the site's extensions (mkdocs.yml), as a page is."""
    import markdown as md

    return md.markdown(
        markdown_text,
        extensions=[
            "admonition",
            "attr_list",
            "md_in_html",
            "tables",
            "toc",
            "pymdownx.highlight",
            "pymdownx.superfences",
            "pymdownx.tabbed",
            "pymdownx.tasklist",
        ],
        extension_configs={"pymdownx.highlight": {"use_pygments": False}},
    )


def test_a_fence_left_open_in_the_notes_does_not_swallow_the_page() -> None:
    values = derive(
        Client.model_validate(client_dict(notes="Run this:\n```\nnet stop x")), "x-client"
    )
    built = site_html(render_runbook(values, "0123456789"))
    # the page goes on after the notes: its sections are headings, its steps are steps
    assert re.search(r"<h2[^>]*>Values to type</h2>", built)
    assert re.search(r"<h3[^>]*>Step 1: ", built)
    assert "&#96;&#96;&#96;" in markdown("Run this:\n```\nnet stop x")  # shown, not a fence


@pytest.mark.parametrize(
    "notes_text",
    [
        "- Restart:\n\n    ```\n    net stop a && net start b <x>\n    ```\n\nAfter.",
        "Restart:\n\n    net stop a && net start b <x>\n\nAfter.",
        "Restart:\n\n\tnet stop a && net start b <x>",
        "Restart:\n  ```sh\n  net stop a && net start b <x>\n  ```",
    ],
)
def test_indented_code_in_the_notes_is_escaped_once(notes_text: str) -> None:
    built = site_html(markdown(notes_text))
    assert "net stop a &amp;&amp; net start b &lt;x&gt;" in built  # shows && and <x>
    assert "&amp;amp;" not in built and "&amp;lt;" not in built
    assert "```" not in built  # a fence, not its characters


def test_no_notes_carry_raw_html_through_a_fence_or_an_indent() -> None:
    """Every way a fence or an indent can sit in the notes: Markdown must never see raw HTML
    (a fence it does not read as one leaves its lines as prose, and their HTML live)."""
    script = "<script>alert(1)</script>"
    cases = []
    for before in ["", "para\n", "para\n\n", "- item\n", "- item\n\n", "> q\n", "`x`\n\n"]:
        for indent in ["", " ", "   ", "    ", "\t", "      ", "        "]:
            for fence in ["```", "~~~", "````"]:
                cases.append(f"{before}{indent}{fence}\n{script}\n{fence}\n")
                cases.append(f"{before}{indent}{fence}sh\n{indent}{script}\n{indent}{fence}\nx")
                cases.append(f"{before}{indent}{fence}\n{indent}{script}")  # never closed
            cases.append(f"{before}{indent}{script} && b\n\n    <b>x</b>")
    for case in cases:
        built = site_html(markdown(case))
        assert "<script>" not in built and "<b>" not in built, repr(case)


@pytest.mark.parametrize(
    "notes_text",
    [
        "\\[click\\](javascript:alert(1))",  # the typed backslash undid the generator's
        "*x*\\{: onclick=alert(1) \\}",
        "\\`<script>alert(1)</script>` x",  # an escaped tick opens no code
        "\\``<script>alert(1)</script>`` x",
        "see `a\n`<script>alert(1)</script>`",  # Markdown pairs ticks across lines
        "`` `<script>alert(1)</script>`",  # a longer run paired with a shorter one
        "```x`<script>alert(1)</script>`x",
        "x `a\r<script>alert(1)</script>`",  # a carriage return is a line break to Markdown
        "    <script>alert(1)</script>```sh[ ]`",  # a span ending an indented line
        "    ~~~![i](x)>`<b>`~~~<img src=x onerror=alert(1)>",
        "    \n    # <script>alert(1)</script>",  # a line of spaces first (the handout's start)
        "Heading\n===\n\nSub\n---",  # no heading from the notes: the outline stays the page's
    ],
)
def test_notes_carry_no_markup_however_backslashes_ticks_and_lines_fall(notes_text: str) -> None:
    from generator.handout import notes_html

    for built in (site_html(markdown(notes_text)), str(notes_html(notes_text))):
        found = re.findall(r"<(?:script|img|b|a|h1|h2)\b[^>]*>|<[^>]*\sonclick=", built)
        assert not found, (notes_text, built)


def test_a_long_run_of_backslashes_in_the_notes_is_escaped_in_time() -> None:
    import time

    # the backslashes before each bracket or tick are read from the run's start only: from
    # every backslash, 20,000 of them (the notes' limit) took 3 s of CPU
    rounds = []
    for _ in range(3):
        start = time.process_time()
        markdown("\\" * 20_000 + "x")
        rounds.append(time.process_time() - start)
    assert min(rounds) < 1.0, rounds


def test_code_spans_in_the_notes_read_as_typed() -> None:
    from tests.htmltext import visible_text

    built = site_html(markdown("run `net stop x && echo <ok> *a* [b](c) a|b` then \\\\`c`"))
    assert "<code>net stop x &amp;&amp; echo &lt;ok&gt; &#42;a&#42; " in built
    assert visible_text(built) == "run net stop x && echo <ok> *a* [b](c) a|b then \\c"


def test_what_the_handout_has_lines_for_is_on_the_page_too() -> None:
    """Every label the handout gives a line to write on is in its step on the page."""
    values = derive(Client.model_validate(client_dict()), "x-client")
    procedure = build_procedure(values, "0123456789")
    md = render_runbook(values, "0123456789")
    labelled = [s for s in procedure.steps() if s.blanks or s.long_blanks]
    assert labelled
    for s in labelled:
        part = md[md.index(f"{{ #{s.anchor} }}") :]
        part = part[: part.find("\n### ") if "\n### " in part else len(part)]
        for label in s.blanks:
            assert f"<span>{html.escape(label)}</span>" in part, (s.id, label)
        for label in s.long_blanks:
            assert f'<span class="long">{html.escape(label)}</span>' in part, (s.id, label)
        assert "\n{: .runbook-blanks }" in part


def test_a_change_undone_at_any_time_reads_so() -> None:
    md = page()
    rollback = md[md.index("## Rolling back") :]
    assert "Possible at any time." in rollback
    assert "Possible until the batch is deleted." in rollback
    assert "until any time" not in md
