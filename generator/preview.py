"""The preview (`runbook serve`): MkDocs' live-reloading server over the generated folder.

Each save rebuilds only what it changed: the hook regenerates the folder (a file is written
only when its bytes change) and MkDocs runs in `--dirty` mode, so it renders again only the
pages whose files were written. Handouts never hold up a page: they are built by a separate,
lower-priority process after each build and copied into the served site when ready.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from generator.errors import UserError

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_lock = threading.Lock()
_job: list[tuple[Path, Path, Path]] = []  # the newest request: runbooks, cache, served folder
_flags = {"running": False, "again": False}


def serve(config_file: Path, runbooks_dir: Path, address: str, open_browser: bool) -> None:
    """Replace this process with `mkdocs serve --dirty` over the project's configuration."""
    check_address(address)
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        raise UserError("mkdocs is not installed: run `make serve` (it installs what it needs)")
    # not strict: a page with a problem is shown, and `make site` is where problems fail
    args = [mkdocs, "serve", "--dirty", "--no-strict", "-f", str(config_file), "-a", address]
    if open_browser:
        args.append("--open")
    env = {**os.environ, "RUNBOOKS_DIR": str(runbooks_dir.resolve())}
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    sys.stdout.flush()
    os.execve(mkdocs, args, env)


def check_address(address: str) -> None:
    """Raise `UserError` unless the preview can listen on `address` now.

    MkDocs refuses a malformed address with its own "configuration error" and binds the
    port only after the first build, so a port in use or an address of another computer
    ended that build with a traceback, all with exit 1. The address is read here as MkDocs
    reads it, then bound once and let go. Another program could still take the port during
    the first build: MkDocs' own bind then says the same (`mkdocs_hook.on_serve`).
    """
    usage = (
        f"-a {address}: give HOST:PORT with HOST an IP address or localhost, e.g. 127.0.0.1:8000"
    )
    host, colon, port_text = address.rpartition(":")
    if not colon:
        raise UserError(usage)
    if host != "localhost":
        try:
            ip = ipaddress.ip_address(host[1:-1] if host[:1] + host[-1:] == "[]" else host)
        except ValueError:
            raise UserError(usage) from None
        host = str(ip)
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise UserError(f"-a {address}: {port_text!r} is not a port from 1 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as MkDocs' server chooses
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as MkDocs' server
            probe.bind((host, port))
    except OSError as exc:
        raise UserError(f"-a {address}: {cannot_listen(exc, host, port)}") from None


def cannot_listen(exc: OSError, host: str, port: int) -> str:
    """Why binding `host`:`port` failed with `exc`, in the consultant's words."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use (another preview?); choose another port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this computer; use 127.0.0.1, or 0.0.0.0 to "
            "listen on all of them"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; choose a port above 1023"
    return f"cannot listen there: {exc.strerror or exc}"


def handouts_later(runbooks_dir: Path, cache: Path, served: Path) -> None:
    """Build the handouts that changed in a background process, then copy every current
    handout into `served/handouts/`; a request during a run starts one more after it."""
    with _lock:
        _job[:] = [(runbooks_dir, cache, served)]
        if _flags["running"]:
            _flags["again"] = True
            return
        _flags["running"] = True
    threading.Thread(target=_run, daemon=True, name="handouts").start()


def _run() -> None:
    """Run background builds until no request is pending."""
    while True:
        with _lock:
            runbooks_dir, cache, served = _job[0]
            _flags["again"] = False
        command = [sys.executable, "-m", "generator.preview", str(runbooks_dir), str(cache)]
        done = subprocess.run(command, check=False, preexec_fn=_lower_priority)  # noqa: S603
        if done.returncode == 0:
            _copy_pdfs(cache, served / "handouts")
        with _lock:
            if not _flags["again"]:
                _flags["running"] = False
                return


def _lower_priority() -> None:
    """In the child: yield the processor to the page builds, and end with the server."""
    os.nice(10)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _copy_pdfs(cache: Path, dest: Path) -> None:
    """Copy the cached handouts that differ from the served ones."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for pdf in cache.glob("*.pdf"):
            target = dest / pdf.name
            if not target.exists() or target.stat().st_mtime < pdf.stat().st_mtime:
                shutil.copy2(pdf, target)
    except OSError:
        return  # the server stopped and removed its folder; nothing to serve any more


def main(argv: list[str]) -> int:
    """`python -m generator.preview RUNBOOKS CACHE`: build the handouts of every client that
    loads, in one process (the other core stays with the page builds)."""
    from generator import site

    runbooks_dir, cache = Path(argv[0]), Path(argv[1])
    try:
        pages, _broken = site.collect_each(runbooks_dir)
        site.handouts(pages, cache, processes=1)
    except UserError as exc:
        print("\n".join(f"handouts: {line}" for line in exc.lines()), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
