"""Publishing safely: build the site beside its target, then swap it in at the very end.

An interrupted or failed build (Ctrl-C or SIGTERM during handouts, a client file that changed
while the build read it, warnings in strict mode, a full disk) leaves the previous `site/` as
it was. Two builds at once each build in their own folder; their swaps take turns (a lock on
the site's parent folder), so neither sees a half-written tree and the later swap wins.

The swap is a few renames, and at every moment between them at least one whole site exists:
the old site first becomes `.site.previous`, the new build becomes `site`, and only then is
the previous one removed. A build killed between two renames leaves `.site.previous`; the next
build puts it back as `site` before anything else, and never deletes it while it is the only
copy. Used by the MkDocs hook, so plain `mkdocs build` is just as safe as `make site`.

Files are written the same way (`write_atomic`): a temporary file beside the target, renamed
over it. Leftovers of processes that died (build folders, temporary files) carry the process
id in their name and are removed by the next run once that process is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from generator.errors import UserError, io_error

BUILDING = ".building-"
RETIRED = ".retired-"
PREVIOUS = ".previous"
TMP_SUFFIX = ".tmp"


class Terminated(SystemExit):
    """SIGTERM, raised as an exception so that cleanup code runs; exits 143 like the signal."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler: unwind like Ctrl-C does, running every `finally`."""
    raise Terminated


def catch_sigterm() -> Callable[[], None] | None:
    """Make SIGTERM raise `Terminated` in this process; return how to undo it.

    Only from the main thread, and only where SIGTERM still has its default action (someone
    else's handler is left alone); None when nothing was changed.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    signal.signal(signal.SIGTERM, _raise_terminated)

    def undo() -> None:
        if signal.getsignal(signal.SIGTERM) is _raise_terminated:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return undo


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (exit 143) after the cleanup has run."""
    undo = catch_sigterm()
    try:
        yield
    finally:
        if undo is not None:
            undo()


def previous_dir(target: Path) -> Path:
    """Where the last good site waits while a new one is swapped in."""
    return target.parent / f".{target.name}{PREVIOUS}"


def building_dir(target: Path) -> Path:
    """A new, empty folder beside `target` to build into; raise if the place is unwritable.

    First puts back a site a killed build left half-swapped, and removes what dead builds left.
    """
    if target.parent.exists() and not target.parent.is_dir():
        raise UserError(f"{target}: cannot write the site there: {target.parent} is not a folder")
    folder = target.parent / f".{target.name}{BUILDING}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        recover(target)
        clean_stale(target)
        folder.mkdir()
    except OSError as exc:
        raise io_error(target, exc, "cannot write the site there") from None
    return folder


@contextlib.contextmanager
def _swap_lock(target: Path) -> Iterator[None]:
    """Hold the lock on the site's parent folder: one swap (or recovery) at a time.

    The lock dies with its process, so a killed build never leaves it taken. Without
    `fcntl` (Windows) swaps are not serialised; each one is still safe alone.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def recover(target: Path) -> None:
    """Put back the last good site when a build died between the renames of its swap."""
    previous = previous_dir(target)
    if not previous.exists():
        return
    with _swap_lock(target):
        if previous.exists() and not target.exists():
            previous.rename(target)


def swap_steps(built: Path, target: Path) -> list[Callable[[], None]]:
    """The swap of `built` into `target`, as steps run in order under the swap lock.

    After any number of them (a build killed in between), `recover` leaves a whole site at
    `target`: the old one or the new one, never none.
    """
    previous = previous_dir(target)

    def retire_older_previous() -> None:  # `target` is whole, so this copy is not needed
        if target.exists():
            _retire(previous, target)

    def set_aside_current() -> None:
        if target.exists():
            target.rename(previous)

    def move_in_built() -> None:
        built.rename(target)

    def retire_previous() -> None:
        _retire(previous, target)

    return [retire_older_previous, set_aside_current, move_in_built, retire_previous]


def swap_in(built: Path, target: Path) -> None:
    """Make `built` the site at `target`, retiring whatever was there."""
    try:
        recover(target)
        with _swap_lock(target):
            for step in swap_steps(built, target):
                step()
    except OSError as exc:
        raise io_error(target, exc, "cannot replace the site") from None
    clean_stale(target)


def _retire(folder: Path, target: Path) -> None:
    """Rename `folder` out of the way (one atomic step), then delete it."""
    retired = target.parent / f".{target.name}{RETIRED}{uuid.uuid4().hex[:8]}"
    try:
        folder.rename(retired)
    except FileNotFoundError:
        return
    shutil.rmtree(retired, ignore_errors=True)


def discard(built: Path) -> None:
    """Remove a build folder that will not be published."""
    shutil.rmtree(built, ignore_errors=True)


def clean_stale(target: Path) -> None:
    """Remove retired folders, and build folders of builds that died (their process is gone).

    Never the previous site: it may be the only whole copy (`recover` puts it back).
    """
    if not target.parent.is_dir():
        return
    for folder in target.parent.glob(f".{target.name}.*"):
        name = folder.name.removeprefix(f".{target.name}")
        if name.startswith(RETIRED):
            shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith(BUILDING):
            pid = name.removeprefix(BUILDING).split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether a process with this id still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(out: Path, write: Callable[[BinaryIO], object], *, durable: bool = True) -> None:
    """Write `out` through `write(file)`: whole or not at all, never a traceback.

    A regular file is written beside `out` as `.<name>.<pid>.<random>.tmp`, then renamed over
    it; the temporary file is removed on every failure. A device or pipe (`/dev/stdout`) is
    written into directly, never replaced. Errors are one-line `UserError`s (`io_error`).
    `durable=False` skips the flush to disk before the rename (4 ms a file here): for a cache,
    whose entry a power cut may leave empty and which is then made again.
    """
    if _is_device_or_pipe(out):
        try:
            with out.open("wb") as stream:
                write(stream)
        except OSError as exc:
            raise io_error(out, exc) from None
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
        # O_EXCL: never follow or reuse a file someone else put there; 0o666 honours the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise io_error(out, exc) from None
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(tmp, out)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise io_error(out, exc) from None
        raise


def _is_device_or_pipe(path: Path) -> bool:
    """Whether `path` exists and is neither a regular file nor a folder."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def clean_stale_tmp(folder: Path, name: str = "*") -> list[Path]:
    """Remove the temporary files `write_atomic` left in `folder` for `name` (a glob) when the
    process that wrote them is gone; return what was removed."""
    removed: list[Path] = []
    for path in folder.glob(f".{name}.*{TMP_SUFFIX}"):
        parts = path.name.removesuffix(TMP_SUFFIX).rsplit(".", 2)
        if len(parts) == 3 and parts[1].isdigit() and not alive(int(parts[1])):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def fingerprint(paths: list[Path]) -> dict[Path, str]:
    """The sha256 of each file, to notice files that change while a build reads them."""
    return {p: _sha256(p) for p in paths}


def changed(before: dict[Path, str]) -> list[Path]:
    """The files whose content is no longer what `fingerprint` saw (or that are gone)."""
    return [p for p, digest in before.items() if _sha256(p) != digest]


def _sha256(path: Path) -> str:
    """The hex digest of a file, or '' when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
