"""Failure behaviour: interrupted, failing and concurrent builds, and an interrupted check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.servers import HttpsProxy, Pki, unanswered_port

PDF_WAIT = 120  # seconds: generous, handouts take a few seconds each on 2 cores


def start_build(site: Path, runbooks: Path, cache: Path) -> subprocess.Popen[str]:
    """`mkdocs build --strict` in its own process group, as a terminal would run it."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "RUNBOOKS_DIR": str(runbooks),
        "RUNBOOK_HANDOUT_CACHE": str(cache),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
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
            [
                sys.executable,
                "-m",
                "generator",
                "check",
                "northwind-traders",
                "--runbooks",
                str(runbooks),
                "--save",
                "--timeout",
                "30",
                "--connect-to",
                f"mail.northwind.com:443:127.0.0.1:{proxy.port}",
                "--connect-to",
                f"mail.northwind.com:6001:127.0.0.1:{port}",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(2)  # the checks are waiting on the dripping proxy
        os.killpg(check.pid, signal.SIGINT)
        _, err = check.communicate(timeout=60)
    assert check.returncode == 130, err
    assert "Traceback" not in err
    evidence = runbooks / "evidence"
    assert not evidence.exists() or list(evidence.iterdir()) == []
