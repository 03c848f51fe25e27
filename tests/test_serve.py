"""The preview: `runbook serve` over copies of the examples, driven over HTTP like a browser.

No timing is asserted here (`make bench` measures the preview); each wait has a generous
deadline so that a broken preview fails instead of hanging.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, as_in_a_terminal

WAIT = 120  # seconds


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Preview:
    """A running `runbook serve` and how to read its pages."""

    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process
        self.output: str | None = None

    def stop(self) -> str:
        """Stop the preview as Ctrl-C does (once); what it printed to the terminal."""
        if self.output is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.output, _ = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.output, _ = self.process.communicate()
        return self.output

    def get(self, path: str) -> bytes:
        """The body at `path`, or b"" while it is not there."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return bytes(response.read())
        except (urllib.error.URLError, OSError):
            return b""

    def wait(self, path: str, holds: Callable[[bytes], bool]) -> bytes:
        """Poll `path` until its body satisfies `holds`; fail after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the preview stopped"
            body = self.get(path)
            if holds(body):
                return body
            time.sleep(0.1)
        raise AssertionError(f"{path}: never as expected; last body {body[:300]!r}")


@pytest.fixture
def preview(tmp_path: Path, runbooks: Path) -> Iterator[Preview]:
    port = free_port()
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "RUNBOOKS_DIR": str(runbooks),
        "RUNBOOK_DOCS_DIR": str(tmp_path / "docs"),
        "RUNBOOK_HANDOUT_CACHE": str(tmp_path / "handouts"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=as_in_a_terminal,
    )
    running = Preview(f"http://127.0.0.1:{port}/", process)
    try:
        yield running
    finally:
        running.stop()


def test_a_saved_client_file_shows_on_its_page(preview: Preview, runbooks: Path) -> None:
    page = "clients/harbor-dental/"
    preview.wait(page, lambda body: b"Harbor Dental" in body)
    client = runbooks / "harbor-dental.yml"
    text = client.read_text()
    assert "client: Harbor Dental" in text
    client.write_text(text.replace("client: Harbor Dental", "client: Harbor Dental Care", 1))
    preview.wait(page, lambda body: b"Harbor Dental Care" in body)
    preview.wait("", lambda body: b"Harbor Dental Care" in body)  # the home page's table too


def test_a_broken_file_shows_its_errors_on_its_page(preview: Preview, runbooks: Path) -> None:
    preview.wait("clients/harbor-dental/", lambda body: b"Harbor Dental" in body)
    client = runbooks / "harbor-dental.yml"
    client.write_text(client.read_text().replace("window:", "window: [oops\nwindow:", 1))
    body = preview.wait("clients/harbor-dental/", lambda body: b"has errors" in body)
    assert b"harbor-dental.yml:" in body and b"YAML syntax" in body
    other = preview.get("clients/northwind-traders/")
    assert b"Northwind Traders" in other  # the other clients keep working
    client.write_text((EXAMPLES / "harbor-dental.yml").read_text())
    preview.wait("clients/harbor-dental/", lambda body: b"has errors" not in body and body != b"")


def test_the_terminal_names_each_broken_file_and_no_dirty_build_warning(
    preview: Preview, runbooks: Path
) -> None:
    preview.wait("clients/harbor-dental/", lambda body: b"Harbor Dental" in body)
    client = runbooks / "harbor-dental.yml"
    text = client.read_text()
    text = text.replace("service_pack: 2", "service_pack: 7", 1)
    client.write_text(text.replace("authentication: basic", "authentication: digest", 1))
    preview.wait("clients/harbor-dental/", lambda body: b"has errors" in body)
    # another client saved while this one stays broken: a build more, not a line more
    other = runbooks / "northwind-traders.yml"
    other.write_text(other.read_text().replace("client: Northwind Traders", "client: NW", 1))
    preview.wait("clients/northwind-traders/", lambda body: b"<h1" in body and b"NW" in body)
    client.write_text(text)  # one of the two problems mended
    preview.wait(
        "clients/harbor-dental/", lambda body: b"has errors" in body and b"authent" not in body
    )
    client.write_text((EXAMPLES / "harbor-dental.yml").read_text())
    preview.wait("clients/harbor-dental/", lambda body: b"has errors" not in body and body != b"")
    lines = preview.stop().splitlines()
    # a first-day user reads the terminal: MkDocs' --dirty warning is false here (the hook
    # regenerates what changed), and a broken file is named with a pointer to its page once
    # each time its problems change, and again when mended
    assert not [line for line in lines if "'dirty' build" in line]
    page = "shown on its page (clients/harbor-dental/)"
    named = [line for line in lines if "problem" in line]
    assert named == [
        f"WARNING -  {client}: 2 problems, {page}",
        f"WARNING -  {client}: 1 problem, {page}",
        f"INFO    -  {client}: no problems now",
    ], "\n".join(lines)


def test_handouts_follow_in_the_background(preview: Preview) -> None:
    preview.wait("clients/harbor-dental/", lambda body: b"Harbor Dental" in body)
    pdf = preview.wait("handouts/harbor-dental.pdf", lambda body: body.startswith(b"%PDF-"))
    assert pdf.rstrip().endswith(b"%%EOF")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("bad", "give HOST:PORT with HOST an IP address or localhost, e.g. 127.0.0.1:8000"),
        (
            "mail.example.com:8000",
            "give HOST:PORT with HOST an IP address or localhost, e.g. 127.0.0.1:8000",
        ),
        ("127.0.0.1:99999", "'99999' is not a port from 1 to 65535"),
        ("localhost:http", "'http' is not a port from 1 to 65535"),
        ("127.0.0.1:0", "'0' is not a port from 1 to 65535"),
        (
            "192.0.2.1:8000",  # TEST-NET-1: never an address of this computer
            "192.0.2.1 is not an address of this computer; use 127.0.0.1, or 0.0.0.0 to listen "
            "on all of them",
        ),
        ("BUSY", "port {port} is in use (another preview?); choose another port"),
    ],
)
def test_an_address_it_cannot_listen_on_is_one_line_before_any_build(
    tmp_path: Path, runbooks: Path, address: str, reason: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        address = address.replace("BUSY", f"127.0.0.1:{port}")
        env = {
            **os.environ,
            "RUNBOOKS_DIR": str(runbooks),
            "RUNBOOK_DOCS_DIR": str(tmp_path / "docs"),
            "RUNBOOK_HANDOUT_CACHE": str(tmp_path / "handouts"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "generator", "serve", "-a", address],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"-a {address}: {reason.format(port=port)}\n"
    assert not (tmp_path / "docs").exists()  # refused before MkDocs builds anything


def test_a_port_taken_during_the_first_build_is_one_line(tmp_path: Path, runbooks: Path) -> None:
    """The address is free when `runbook serve` checks it, and taken by another program while
    MkDocs makes the first build (it binds only afterwards): the same one line, exit 2."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "RUNBOOKS_DIR": str(runbooks),
        "RUNBOOK_HANDOUT_CACHE": str(tmp_path / "handouts"),
    }
    for attempt in range(5):  # the first build lasts about a second: take the port in it
        port, docs = free_port(), tmp_path / f"docs-{attempt}"
        with socket.socket() as busy:
            process = subprocess.Popen(
                [sys.executable, "-m", "generator", "serve", "-a", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env={**env, "RUNBOOK_DOCS_DIR": str(docs)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                deadline = time.monotonic() + WAIT
                while not docs.exists():  # the address was checked: the build began
                    assert process.poll() is None and time.monotonic() < deadline
                    time.sleep(0.005)
                try:
                    busy.bind(("127.0.0.1", port))
                except OSError:
                    continue  # the preview bound first (a slow moment here): again
                busy.listen()
                out, err = process.communicate(timeout=WAIT)
                break
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
    else:
        pytest.fail("the preview bound its port before this test could take it, five times")
    assert process.returncode == 2
    assert "Traceback" not in out + err
    assert err.splitlines()[-1] == (
        f"-a 127.0.0.1:{port}: port {port} is in use (another preview?); choose another port"
    )
