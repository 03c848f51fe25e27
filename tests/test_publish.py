"""Publishing safely: the site swap at every point of a kill, atomic writes, and I/O errors.

Read-only places are read-only tmpfs mounts when the tests run as root (permissions do not
stop root), else folders without write permission; full disks are tiny tmpfs mounts (root
only) and `/dev/full`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import publish
from generator.errors import OperationFailed, UserError
from tests.conftest import EXAMPLES, ROOT, mkdocs_args, run_cli, site_env
from tests.mounts import read_only_folder, small_disk
from tests.servers import refused_port

DEAD_PID = 999_999_999  # above the kernel's pid limit: never a live process


def make_site(folder: Path, text: str) -> Path:
    """A whole site: a folder with an index page saying `text`."""
    folder.mkdir()
    (folder / "index.html").write_text(text)
    return folder


def site_text(target: Path) -> str:
    """What the published site's index page says."""
    return (target / "index.html").read_text()


def assert_one_line_error(err: str, *fragments: str) -> None:
    """One line on stderr, holding every fragment, and no traceback."""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


# --- the swap ----------------------------------------------------------------------------


@pytest.mark.parametrize("done", range(5))
def test_a_build_killed_at_any_point_of_its_swap_leaves_a_whole_site(
    tmp_path: Path, done: int
) -> None:
    target = make_site(tmp_path / "site", "old")
    built = publish.building_dir(target)
    (built / "index.html").write_text("new")
    steps = publish.swap_steps(built, target)
    assert len(steps) == 4
    for step in steps[:done]:
        step()
    # The build is killed here. The next build first cleans up what dead builds left: that
    # must never delete the only whole copy of the site.
    publish.clean_stale(target)
    assert (target / "index.html").is_file() or (
        publish.previous_dir(target) / "index.html"
    ).is_file()
    following = publish.building_dir(target)  # what the next build does first
    assert site_text(target) == ("new" if done >= 3 else "old")
    (following / "index.html").write_text("newer")
    publish.swap_in(following, target)
    assert site_text(target) == "newer"
    leftovers = {p.name for p in tmp_path.iterdir()} - {"site"}
    # only the killed build's own folder, when it was never moved in (its process, this
    # test, is still alive: a dead one's is removed by the next build)
    assert leftovers <= {built.name}


def test_a_swap_after_a_killed_one_keeps_nothing_stale(tmp_path: Path) -> None:
    target = make_site(tmp_path / "site", "old")
    make_site(publish.previous_dir(target), "older")  # a build died before removing it
    make_site(tmp_path / f".site{publish.RETIRED}0badf00d", "half-deleted")
    make_site(tmp_path / f".site{publish.BUILDING}{DEAD_PID}-deadbeef", "half-built")
    built = publish.building_dir(target)
    (built / "index.html").write_text("new")
    publish.swap_in(built, target)
    assert site_text(target) == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_missing_site_is_put_back_from_the_previous_one(tmp_path: Path) -> None:
    make_site(publish.previous_dir(tmp_path / "site"), "old")
    publish.recover(tmp_path / "site")
    assert site_text(tmp_path / "site") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


# --- atomic writes -----------------------------------------------------------------------


def test_a_failed_or_interrupted_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    out.write_bytes(b"the previous file")

    def fail_half_way(file: object) -> None:
        file.write(b"half")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish.write_atomic(out, fail_half_way)
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]
    assert out.read_bytes() == b"the previous file"


def test_a_device_is_written_into_never_replaced() -> None:
    full = Path("/dev/full")
    with pytest.raises(OperationFailed, match="^/dev/full: cannot write: No space left"):
        publish.write_atomic(full, lambda file: file.write(b"x" * 100_000))
    assert stat.S_ISCHR(full.stat().st_mode)
    publish.write_atomic(Path("/dev/null"), lambda file: file.write(b"data"))
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_a_full_disk_is_an_operation_error_and_leaves_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "64k") as disk:
        (disk / "out.pdf").write_bytes(b"the previous file")
        with pytest.raises(OperationFailed, match="out.pdf: cannot write: No space left"):
            publish.write_atomic(disk / "out.pdf", lambda file: file.write(b"x" * 200_000))
        assert [p.name for p in disk.iterdir()] == ["out.pdf"]
        assert (disk / "out.pdf").read_bytes() == b"the previous file"


def test_a_read_only_folder_is_a_user_error(tmp_path: Path) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(UserError) as caught:
            publish.write_atomic(folder / "x.pdf", lambda file: file.write(b"x"))
        assert caught.value.exit_code == 2
        assert str(caught.value).startswith(f"{folder}/x.pdf: cannot write: ")


def test_temporary_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f".a.pdf.{DEAD_PID}.0123abcd.tmp"
    mine = tmp_path / f".a.pdf.{os.getpid()}.0123abcd.tmp"
    other = tmp_path / ".a.pdf.notes.tmp"
    for path in (dead, mine, other):
        path.write_bytes(b"")
    assert publish.clean_stale_tmp(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])


# --- the command line: one line, exit 2 for a wrong place, 1 for a failed operation -----


def run_to(stdout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`runbook ARGS` with its standard output going to `stdout`."""
    with stdout.open("w") as out:
        return subprocess.run(
            [sys.executable, "-m", "generator", *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )


@pytest.mark.parametrize(
    "args",
    [
        ["values", "northwind-traders", "--json"],
        ["render", "northwind-traders"],
        ["schema"],
    ],
)
def test_output_to_a_full_device_is_one_line(args: list[str]) -> None:
    result = run_to(Path("/dev/full"), *args)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "cannot write the output: No space left on device")


def test_handout_to_a_full_device_is_one_line_and_keeps_the_device() -> None:
    result = run_cli("handout", "harbor-dental", "-o", "/dev/full")
    assert result.code == 1
    assert_one_line_error(result.err, "/dev/full: cannot write: No space left on device")
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_new_into_a_read_only_folder(tmp_path: Path) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        for runbooks in (folder, folder / "runbooks"):
            result = run_cli("new", "acme", "--runbooks", str(runbooks))
            assert result.code == 2
            assert_one_line_error(result.err, f"{runbooks}/acme.yml: cannot write: ")
        assert list(folder.iterdir()) == []


def test_new_on_a_full_disk_leaves_no_half_file(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "4k") as disk:
        (disk / "filler").write_bytes(b"x" * 4096)
        result = run_cli("new", "acme", "--runbooks", str(disk))
        assert result.code == 1
        assert_one_line_error(result.err, "acme.yml: cannot write: No space left on device")
        assert [p.name for p in disk.iterdir()] == ["filler"]


def test_check_save_into_a_read_only_evidence_folder(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    shutil.copy(EXAMPLES / "northwind-traders.yml", runbooks)
    port = refused_port()
    # the public name looked up as a refused port (--save refuses --connect-to)
    routes = [f"mail.northwind.com:{p}:127.0.0.1:{port}" for p in (443, 6001, 6002, 6004)]
    with read_only_folder(runbooks / "evidence") as evidence:
        result = run_cli(
            "check", "northwind-traders", "--runbooks", str(runbooks), "--timeout", "2",
            "--save", resolve=routes,
        )  # fmt: skip
        assert result.code == 2, result.err
        assert_one_line_error(
            result.err, f"{evidence}/northwind-traders.json: cannot save the check results: "
        )
        assert "FAIL" in result.out  # the results were shown before saving failed
        assert list(evidence.iterdir()) == []


def test_bundle_into_a_read_only_folder_fails_before_building(tmp_path: Path) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        out = folder / "acme.zip"
        result = run_cli("bundle", "harbor-dental", "--runbooks", str(EXAMPLES), "-o", str(out))
        assert result.code == 2
        assert_one_line_error(result.err, f"{out}: cannot write: ")
    assert (
        list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"runbook-bundle-{os.getpid()}-*")) == []
    )


def mkdocs(site: Path, runbooks: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of `runbooks` into `site`, handouts cached in `cache`."""
    return subprocess.run(
        mkdocs_args(site),
        cwd=ROOT,
        env=site_env(site, runbooks, RUNBOOK_HANDOUT_CACHE=str(cache), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def one_client(tmp_path: Path) -> Path:
    """A runbooks folder with a single client: one handout, built in-process."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    shutil.copy(EXAMPLES / "harbor-dental.yml", folder)
    return folder


def test_a_full_disk_during_the_site_build(tmp_path: Path, one_client: Path) -> None:
    with small_disk(tmp_path / "disk", "256k") as disk:
        site = make_site(disk / "site", "the previous site")
        docs = str(tmp_path / "docs")  # generated off the small disk: MkDocs meets the full disk
        result = mkdocs(
            site, one_client, tmp_path / "cache", RUNBOOK_HANDOUTS="off", RUNBOOK_DOCS_DIR=docs
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"{site}: cannot write the site: No space left on device" in result.stderr
        assert site_text(site) == "the previous site"
        assert sorted(p.name for p in disk.iterdir()) == ["site"]


def test_a_full_disk_while_generating_the_pages(tmp_path: Path, one_client: Path) -> None:
    site = make_site(tmp_path / "site", "the previous site")
    with small_disk(tmp_path / "disk", "64k") as disk:
        docs = disk / "docs"
        result = mkdocs(
            site, one_client, tmp_path / "cache", RUNBOOK_HANDOUTS="off", RUNBOOK_DOCS_DIR=str(docs)
        )
        assert result.returncode == 1
        assert_one_line_error(result.stderr, "cannot write: No space left on device")
        assert f"{docs}/" in result.stderr  # names the file it could not write
    assert site_text(site) == "the previous site"


def test_a_full_handout_cache(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for slug in ("harbor-dental", "northwind-traders"):  # two: built by worker processes
        shutil.copy(EXAMPLES / f"{slug}.yml", runbooks)
    site = make_site(tmp_path / "site", "the previous site")
    with small_disk(tmp_path / "cache", "16k") as cache:
        result = mkdocs(site, runbooks, cache)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert re.search(r"\.pdf: cannot write: No space left on device", result.stderr)
        assert [p.name for p in cache.iterdir() if p.suffix == ".tmp"] == []
    assert site_text(site) == "the previous site"
    # besides the site, only the engine's input folder (an intermediate, rewritten next time)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "runbooks", "site", "site-docs"]


def test_a_read_only_handout_cache(tmp_path: Path, one_client: Path) -> None:
    site = make_site(tmp_path / "site", "the previous site")
    with read_only_folder(tmp_path / "ro") as folder:
        result = mkdocs(site, one_client, folder / "cache")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"{folder}/cache: cannot write: " in result.stderr
    assert site_text(site) == "the previous site"


def test_a_terminated_bundle_leaves_nothing_and_the_next_cleans_a_killed_one(
    tmp_path: Path,
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    dist = tmp_path / "dist"
    dist.mkdir()
    out = dist / "harbor.zip"
    killed_site = temp / f"runbook-bundle-{DEAD_PID}-abcd1234"  # from a bundle killed -9
    killed_site.mkdir()
    killed_zip = dist / f".harbor.zip.{DEAD_PID}.0123abcd.tmp"
    killed_zip.write_bytes(b"half")
    bundle = subprocess.Popen(
        [sys.executable, "-m", "generator", "bundle", "harbor-dental", "-o", str(out)],
        cwd=ROOT,
        env={
            **os.environ,
            "TMPDIR": str(temp),
            "RUNBOOKS_DIR": str(EXAMPLES),
            "RUNBOOK_HANDOUT_CACHE": str(tmp_path / "cache"),  # its handout is being made
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(temp.glob(f"runbook-bundle-{bundle.pid}-*/.site.building-*")):
        assert time.monotonic() < deadline and bundle.poll() is None, "the bundle never started"
        time.sleep(0.05)
    bundle.terminate()
    _, err = bundle.communicate(timeout=60)
    assert bundle.returncode == 143, err
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []  # its own temporary site, and the killed one's
    assert list(dist.iterdir()) == []  # its own temporary zip, and the killed one's


def test_a_full_temporary_folder_during_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "dist" / "harbor.zip"
    with small_disk(tmp_path / "temp", "256k") as temp:
        bundle = subprocess.run(
            [sys.executable, "-m", "generator", "bundle", "harbor-dental", "-o", str(out)],
            cwd=ROOT,
            env={**os.environ, "TMPDIR": str(temp), "RUNBOOKS_DIR": str(EXAMPLES)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bundle.returncode == 1
        assert_one_line_error(bundle.stderr, "cannot build the bundle's site there: No space left")
        assert list(temp.iterdir()) == []
    assert list(out.parent.iterdir()) == []
