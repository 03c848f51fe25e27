"""Failure behaviour: interrupted, failing and concurrent builds, and an interrupted check."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import (
    EXAMPLES,
    ROOT,
    as_in_a_terminal,
    mkdocs_args,
    runbook_args,
    site_env,
)
from tests.servers import HttpsProxy, Pki, unanswered_port

PDF_WAIT = 120  # seconds: generous, handouts take a few seconds each on 2 cores


def start_build(site: Path, runbooks: Path, cache: Path) -> subprocess.Popen[str]:
    """`mkdocs build --strict` in its own process group, as a terminal would run it."""
    return subprocess.Popen(
        mkdocs_args(site),
        cwd=ROOT,
        env=site_env(site, runbooks, RUNBOOK_HANDOUT_CACHE=str(cache)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=as_in_a_terminal,
    )


def wait_for(condition: object, timeout: float = PDF_WAIT) -> None:
    """Poll until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def building(site: Path) -> list[Path]:
    """Build folders beside the site."""
    return list(site.parent.glob(f".{site.name}.building-*"))


def leftovers(cache: Path) -> list[Path]:
    """Temporary files in the handout cache."""
    return list(cache.glob(".*.tmp")) if cache.is_dir() else []


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def old_site(tmp_path: Path) -> Path:
    """A previously published site with a marker file."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the previous site")
    return site


def test_an_interrupted_build_leaves_the_previous_site(
    old_site: Path, site_runbooks: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    build = start_build(old_site, site_runbooks, cache)
    wait_for(lambda: building(old_site) and cache.is_dir())  # handouts are being built
    os.killpg(build.pid, signal.SIGINT)
    build.communicate(timeout=PDF_WAIT)
    assert build.returncode != 0
    assert (old_site / "index.html").read_text() == "the previous site"
    assert sorted(p.name for p in old_site.iterdir()) == ["index.html"]
    assert building(old_site) == []  # removed at once, not only by the next build
    assert leftovers(cache) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_handout_workers_die_with_a_killed_build(
    sig: signal.Signals, old_site: Path, tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for path in EXAMPLES.glob("*.yml"):  # three handouts: built by worker processes
        (runbooks / path.name).write_bytes(path.read_bytes())
    cache = tmp_path / "cache"
    build = start_build(old_site, runbooks, cache)
    workers: set[int] = set()
    try:
        wait_for(lambda: children(build.pid))
        time.sleep(0.5)  # every worker is started at once
        workers = children(build.pid)
        os.kill(build.pid, sig)  # the build alone, as `kill` or a service manager would
        build.wait(timeout=PDF_WAIT)
        wait_for(lambda: not any(running(w) for w in workers), timeout=10)
    finally:
        for worker in workers:  # never leave them running, even when the test fails
            if running(worker):
                os.kill(worker, signal.SIGKILL)
    _, err = build.communicate(timeout=PDF_WAIT)  # workers would hold its pipes open
    assert (old_site / "index.html").read_text() == "the previous site"
    if sig == signal.SIGTERM:  # cleaned up like Ctrl-C
        assert build.returncode == 128 + signal.SIGTERM, err
        assert "Traceback" not in err
        assert building(old_site) == []
        assert leftovers(cache) == []
    else:  # a killed build's folder and files are removed by the next build
        assert build.returncode == -signal.SIGKILL


def test_the_next_build_removes_what_a_dead_build_left(
    old_site: Path, site_runbooks: Path, tmp_path: Path
) -> None:
    dead = old_site.parent / f".{old_site.name}.building-999999999-deadbeef"
    dead.mkdir()
    (dead / "half.html").write_text("half")
    build = start_build(old_site, site_runbooks, tmp_path / "cache")
    _, err = build.communicate(timeout=PDF_WAIT)
    assert build.returncode == 0, err
    assert not dead.exists()
    assert "Northwind Traders" in (old_site / "index.html").read_text()
    assert building(old_site) == []


def test_a_client_file_changed_mid_build_is_an_error(
    old_site: Path, site_runbooks: Path, tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for path in site_runbooks.glob("*.yml"):
        (runbooks / path.name).write_bytes(path.read_bytes())
    cache = tmp_path / "cache"
    build = start_build(old_site, runbooks, cache)
    wait_for(cache.is_dir)  # the client files were read; handouts are on their way
    with (runbooks / "harbor-dental.yml").open("a") as handle:
        handle.write("# edited while the site was being built\n")
    _, err = build.communicate(timeout=PDF_WAIT)
    assert build.returncode != 0
    assert "harbor-dental.yml changed during the build; nothing was published" in err
    assert "Traceback" not in err
    assert (old_site / "index.html").read_text() == "the previous site"
    assert building(old_site) == []


def test_an_unwritable_output_folder_is_a_clear_error(site_runbooks: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    build = start_build(blocker / "site", site_runbooks, tmp_path / "cache")
    _, err = build.communicate(timeout=PDF_WAIT)
    assert build.returncode != 0
    assert f"{blocker}/site: cannot write the site there:" in err
    assert "Traceback" not in err


def test_two_builds_at_once_give_one_whole_site(
    old_site: Path, site_runbooks: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    builds = [start_build(old_site, site_runbooks, cache) for _ in range(2)]
    for build in builds:
        _, err = build.communicate(timeout=PDF_WAIT * 2)
        assert build.returncode == 0, err
    slugs = sorted(p.stem for p in site_runbooks.glob("*.yml"))
    for slug in slugs:
        assert (old_site / "clients" / slug / "index.html").is_file()
        assert (old_site / "handouts" / f"{slug}.pdf").read_bytes().startswith(b"%PDF-")
    assert "Northwind Traders" in (old_site / "index.html").read_text()
    assert building(old_site) == []
    assert list(old_site.parent.glob(f".{old_site.name}.retired-*")) == []


def test_an_interrupted_check_leaves_no_half_written_evidence(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    source = ROOT / "runbooks" / "northwind-traders.yml"
    (runbooks / source.name).write_bytes(source.read_bytes())
    pki = Pki()
    with HttpsProxy(pki.leaf("mail.northwind.com"), "drip") as proxy, unanswered_port() as port:
        check = subprocess.Popen(
            runbook_args(
                "check",
                "northwind-traders",
                "--runbooks",
                str(runbooks),
                "--save",
                "--timeout",
                "30",
                resolve=[
                    f"mail.northwind.com:443:127.0.0.1:{proxy.port}",
                    f"mail.northwind.com:6001:127.0.0.1:{port}",
                ],
            ),  # the public name looked up as the loopback servers (--save refuses --connect-to)
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=as_in_a_terminal,
        )
        wait_for(lambda: proxy.requests, timeout=60)  # the checks wait on the dripping proxy
        os.killpg(check.pid, signal.SIGINT)
        _, err = check.communicate(timeout=60)
    assert check.returncode == 130, err
    assert "Traceback" not in err
    evidence = runbooks / "evidence"
    assert not evidence.exists() or list(evidence.iterdir()) == []
