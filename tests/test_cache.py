"""The render cache: a page comes back from `.cache/render` only when nothing it is made from
changed, and a damaged entry or a failing file never shows."""

from __future__ import annotations

import ast
import datetime as dt
import pickle
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from generator import cache, render, site
from generator.check import CheckResult
from generator.clients import load_values, revision, saved_evidence
from generator.derive import Values, derive
from generator.errors import ClientFileError, RenderError, UserError
from generator.evidence import evidence_path, record, save
from generator.model import read_client
from generator.page import render_runbook
from tests.conftest import EXAMPLE_SLUGS, ROOT, client_dict

PACKAGE = Path(cache.__file__).resolve().parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project (mkdocs.yml and runbooks/) holding one client file."""
    (tmp_path / "mkdocs.yml").write_text("site_name: test\n", encoding="utf-8")
    (tmp_path / "runbooks").mkdir()
    write(tmp_path / "runbooks" / "acme.yml", client_dict())
    return tmp_path


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def uncached(path: Path) -> tuple[Any, str, Any]:
    """The values, page and saved checks made the way they were before the cache."""
    client, _ = read_client(path)
    values = derive(client, path.stem)
    evidence = saved_evidence(path)
    return values, render_runbook(values, revision(path), evidence), evidence


def made(path: Path) -> tuple[Any, str, Any]:
    found = cache.rendered(path)
    assert found is not None
    return found.values, found.markdown, found.evidence


def entries(project: Path) -> list[Path]:
    return sorted((project / ".cache" / "render").glob("*.pkl"))


def no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, making a page fails the test: it must come from the cache."""

    def refuse(*args: object) -> str:
        raise AssertionError("rendered again")

    monkeypatch.setattr(cache, "render_runbook", refuse)
    monkeypatch.setattr(cache, "validate_document", refuse)


def test_a_second_run_reads_the_same_page_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "runbooks" / "acme.yml"
    first = made(path)
    assert first == uncached(path)
    assert len(entries(project)) == 1
    no_rendering(monkeypatch)
    assert made(path) == first


def test_a_changed_client_file_is_made_again(project: Path) -> None:
    path = project / "runbooks" / "acme.yml"
    made(path)
    write(path, client_dict(client="Acme Renamed"))
    values, page, _ = made(path)
    assert values.client == "Acme Renamed" and "# Acme Renamed" in page
    assert (values, page) == uncached(path)[:2]
    assert len(entries(project)) == 1  # the entry of a file is replaced, not added to


def test_the_same_file_under_another_name_is_another_client(project: Path) -> None:
    path = project / "runbooks" / "acme.yml"
    made(path)
    other = project / "runbooks" / "other-client.yml"
    other.write_bytes(path.read_bytes())
    values, page, _ = made(other)
    assert values.slug == "other-client" and "handouts/other-client.pdf" in page


def test_saved_checks_are_part_of_the_key(project: Path) -> None:
    path = project / "runbooks" / "acme.yml"
    _, before, _ = made(path)
    assert "## Latest checks" not in before
    values = derive(read_client(path)[0], "acme")
    results = [CheckResult("tls", "mail.testclient.com:443", "pass", "trusted")]
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    save(record(results, now, "0.1.0", values), evidence_path(path.parent, "acme"))
    _, page, evidence = made(path)
    assert evidence is not None and "## Latest checks" in page
    assert (page, evidence) == uncached(path)[1:]
    evidence_path(path.parent, "acme").unlink()
    assert made(path)[1] == before


def test_damaged_saved_checks_are_the_same_error_and_never_stored(project: Path) -> None:
    path = project / "runbooks" / "acme.yml"
    saved = evidence_path(path.parent, "acme")
    saved.parent.mkdir()
    saved.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError) as direct:
        saved_evidence(path)
    assert "not readable evidence" in str(direct.value)
    for _ in range(2):
        with pytest.raises(UserError) as cached:
            cache.rendered(path)
        assert str(cached.value) == str(direct.value)
    assert entries(project) == []


def test_a_new_generator_version_makes_every_page_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "runbooks" / "acme.yml"
    made(path)
    monkeypatch.setattr(cache, "generator_version", lambda: b"another version")
    calls: list[str] = []
    real = cache.render_runbook

    def counted(*args: Any) -> str:
        calls.append("render")
        return real(*args)

    monkeypatch.setattr(cache, "render_runbook", counted)
    made(path)
    assert calls == ["render"]


def test_the_generator_version_covers_its_code_templates_and_check_scripts() -> None:
    version = cache.generator_version()
    assert len(version) == 64
    cache.generator_version.cache_clear()
    assert cache.generator_version() == version  # the same files, the same version


@pytest.mark.parametrize(
    "damage",
    [
        lambda key, data: b"",
        lambda key, data: data[:100],
        lambda key, data: data[:-200],
        lambda key, data: key + b"\n" + b"\x80\x05not a pickle",
        lambda key, data: key + b"\n" + pickle.dumps(("something else",)),
        lambda key, data: key + b"\n" + pickle.dumps(["not", "a", "tuple"]),
    ],
)
def test_a_damaged_entry_is_made_again(project: Path, damage: Any) -> None:
    path = project / "runbooks" / "acme.yml"
    first = made(path)
    (entry,) = entries(project)
    data = entry.read_bytes()
    entry.write_bytes(damage(data[:64], data))
    assert made(path) == first
    stored = cache._read(entry, data[:64])  # and stored again
    assert stored is not None and stored[0] is not None and stored[0].markdown == first[1]


def test_a_failing_file_is_never_stored(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / "runbooks" / "acme.yml"
    write(path, client_dict(**{"rpc_proxy.public_fqdn": "example.com"}))
    for _ in range(2):
        with pytest.raises(ClientFileError, match="looks like a placeholder"):
            cache.rendered(path)
    assert entries(project) == []

    def broken(*args: object) -> str:
        raise RenderError("acme:1: rendered page still holds 'TODO'; nothing written")

    write(path, client_dict())
    monkeypatch.setattr(cache, "render_runbook", broken)
    with pytest.raises(RenderError):
        cache.rendered(path)
    assert entries(project) == []


def test_a_draft_is_remembered_as_a_draft(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(project / "runbooks" / "acme.yml", {**client_dict(), "draft": True})
    assert cache.rendered(path) is None
    assert len(entries(project)) == 1
    no_rendering(monkeypatch)
    assert cache.rendered(path) is None


def test_a_link_out_of_the_folder_is_refused_even_with_its_page_cached(project: Path) -> None:
    path = project / "runbooks" / "acme.yml"
    made(path)
    outside = project / "acme.yml"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(ClientFileError, match="link to a file outside its folder"):
        cache.rendered(path)


def test_outside_a_project_nothing_is_cached(tmp_path: Path) -> None:
    path = write(tmp_path / "acme.yml", client_dict())
    assert made(path) == uncached(path)
    assert not (tmp_path / ".cache").exists()


def test_a_cache_that_cannot_be_written_only_costs_time(project: Path) -> None:
    (project / ".cache").write_text("a file where the folder would go", encoding="utf-8")
    path = project / "runbooks" / "acme.yml"
    assert made(path) == uncached(path)


def test_the_site_collects_the_same_pages_from_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "runbooks" / "beta.yml", client_dict(client="Beta"))
    write(project / "runbooks" / "gamma.yml", {**client_dict(), "draft": True})
    first = site.collect(project / "runbooks")
    no_rendering(monkeypatch)
    again = site.collect(project / "runbooks")
    assert [(p.path, p.values, p.markdown, p.evidence) for p in again] == [
        (p.path, p.values, p.markdown, p.evidence) for p in first
    ]
    assert [p.values.slug for p in again] == ["beta", "acme"]  # by client name; no draft


def test_a_deleted_or_renamed_client_leaves_no_entry_behind(project: Path) -> None:
    runbooks = project / "runbooks"
    write(runbooks / "beta.yml", client_dict())
    other = project / "more-runbooks"  # another folder of the same project
    other.mkdir()
    write(other / "gamma.yml", client_dict())
    site.collect(other)
    site.collect(runbooks)
    assert len(entries(project)) == 3
    (runbooks / "beta.yml").rename(runbooks / "delta.yml")
    site.collect(runbooks, only="acme")  # one client read: nothing is known of the others
    assert len(entries(project)) == 3
    site.collect(runbooks)
    (runbooks / "acme.yml").unlink()
    site.collect(runbooks)
    assert len(entries(project)) == 2  # delta's, and gamma's in the other folder
    assert [p.summary.slug for p in site.collect(other)] == ["gamma"]
    (runbooks / "delta.yml").unlink()
    site.collect(runbooks)
    assert len(entries(project)) == 1


def test_entries_named_before_folders_had_marks_are_removed(project: Path) -> None:
    old = project / ".cache" / "render" / ("0" * 32 + ".pkl")
    site.collect(project / "runbooks")
    old.write_bytes(b"an entry of an earlier version")
    site.collect(project / "runbooks")
    assert not old.exists()
    assert len(entries(project)) == 1


def test_a_build_with_nothing_changed_reads_no_values(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "runbooks" / "beta.yml", client_dict(client="Beta"))
    # saved checks: Beta's for its own public name, Acme's for another one (so stale)
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    for slug, public in (("beta", "mail.testclient.com"), ("acme", "remote.testclient.com")):
        values = derive(read_client(project / "runbooks" / f"{slug}.yml")[0], slug)
        values = values.model_copy(update={"public_fqdn": public})
        results = [CheckResult("tls", f"{public}:443", "pass", "trusted")]
        save(record(results, now, "0.1.0", values), evidence_path(project / "runbooks", slug))
    first = site.collect(project / "runbooks")
    assert [p.stale is None for p in first] == [True, False]  # Beta, then Acme
    table, reg = site.home_table(first), [site.downloads(p) for p in first]
    assert [p.summary for p in first] == [cache.Summary.of(p.values, p.evidence) for p in first]
    no_rendering(monkeypatch)

    def refuse(*args: object) -> Values:
        raise AssertionError("values read")

    monkeypatch.setattr(Values, "model_validate_json", refuse)
    again = site.collect(project / "runbooks")
    assert [(p.path, p.markdown, p.evidence, p.stale) for p in again] == [
        (p.path, p.markdown, p.evidence, p.stale) for p in first
    ]
    assert site.home_table(again) == table and [site.downloads(p) for p in again] == reg


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_values_come_back_from_their_json_as_they_were(slug: str) -> None:
    values = load_values(ROOT / "runbooks", slug)
    again = Values.model_validate_json(values.model_dump_json())
    # the same values, and the same JSON: a float stays a float, a date a date
    assert again == values and again.model_dump_json() == values.model_dump_json()


# What a page is made from must be in the key: nothing on the way from a client file to its page
# may read the clock or the environment (the window's warnings against today are the command
# line's, `plan.py`). `check.py` runs the checks; only `checked_targets` serves the page.
CLOCK_OR_ENVIRONMENT = {"today", "now", "utcnow", "time", "monotonic", "getenv", "environ"}


def _render_path_modules() -> set[str]:
    """The package's modules `cache.py` imports, directly or not."""
    seen: set[str] = set()
    todo = ["cache"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse(_module_file(name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "generator" and len(parts) > 1:
                    todo.append(".".join(parts[1:]))
    return seen


def _module_file(name: str) -> Path:
    """The source of the package's module `name` (dotted within the package)."""
    path = PACKAGE.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def clock_reads(tree: ast.AST) -> list[str]:
    """`line: name` of each use of the clock or the environment in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_OR_ENVIRONMENT:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Name) and node.id in ("getenv", "environ"):
            found.append((node.lineno, node.id))
    return [f"{line}: {word}" for line, word in sorted(found)]


def test_nothing_on_the_way_to_a_page_reads_the_clock_or_the_environment() -> None:
    modules = _render_path_modules()
    expected = {"load", "model", "derive", "steps", "steps.gate", "page", "evidence", "check"}
    assert expected <= modules
    found = []
    for name in sorted(modules):
        tree: ast.AST = ast.parse(_module_file(name).read_text(encoding="utf-8"))
        if name == "check":
            tree = next(
                n
                for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef) and n.name == "checked_targets"
            )
        found += [f"{name}.py:{line}" for line in clock_reads(tree)]
    assert found == []


def test_the_clock_finder_finds_them() -> None:
    source = "x = dt.date.today()\ny = os.environ['A'] + dt.datetime.now()\nz = time.time(now)"
    assert clock_reads(ast.parse(source)) == ["1: today", "2: environ", "2: now", "3: time"]


# --- compiled templates --------------------------------------------------------------------


def _environment(folder: Path, autoescape: bool = False) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader({"t.j2": "{{ x }}!"}),
        autoescape=autoescape,
        auto_reload=False,
        bytecode_cache=render.TemplateCache(str(folder)),
    )


def test_compiled_templates_are_kept_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _environment(tmp_path).get_template("t.j2").render(x="a") == "a!"
    assert len(list(tmp_path.iterdir())) == 1
    again = _environment(tmp_path)
    monkeypatch.setattr(again, "compile", lambda *a, **k: pytest.fail("compiled again"))
    assert again.get_template("t.j2").render(x="b") == "b!"


def test_html_templates_never_reuse_code_compiled_without_autoescaping(tmp_path: Path) -> None:
    assert _environment(tmp_path).get_template("t.j2").render(x="<b>") == "<b>!"
    html = _environment(tmp_path, autoescape=True)
    assert html.get_template("t.j2").render(x="<b>") == "&lt;b&gt;!"


def test_a_damaged_or_unwritable_template_cache_only_costs_time(tmp_path: Path) -> None:
    _environment(tmp_path).get_template("t.j2")
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"damaged")
    assert _environment(tmp_path).get_template("t.j2").render(x="c") == "c!"
    gone = tmp_path / "gone"
    assert _environment(gone).get_template("t.j2").render(x="d") == "d!"


def test_the_template_cache_lives_in_the_project(tmp_path: Path) -> None:
    # outside a project (client files kept elsewhere): the project this generator runs from
    assert render.cache_folder(tmp_path, "jinja") == ROOT / ".cache" / "jinja"
    (tmp_path / "mkdocs.yml").write_text("site_name: test\n", encoding="utf-8")
    (tmp_path / "runbooks").mkdir()
    deep = tmp_path / "docs" / "guides"
    deep.mkdir(parents=True)
    assert render.cache_folder(deep, "jinja") == tmp_path / ".cache" / "jinja"
    assert (tmp_path / ".cache" / "jinja").is_dir()
    (tmp_path / ".cache" / "jinja").rmdir()
    (tmp_path / ".cache").rmdir()
    (tmp_path / ".cache").write_text("not a folder", encoding="utf-8")
    assert render.cache_folder(deep, "jinja") is None
