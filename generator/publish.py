"""Publishing safely: build the site beside its target, then swap it in at the very end.

An interrupted or failed build (Ctrl-C during handouts, a client file that changed while the
build read it, warnings in strict mode) leaves the previous `site/` as it was. Two builds at
once each build in their own folder; the later swap wins, and neither sees a half-written
tree. Used by the MkDocs hook, so plain `mkdocs build` is just as safe as `make site`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from generator.errors import UserError

BUILDING = ".building-"
RETIRED = ".retired-"


def building_dir(target: Path) -> Path:
    """A new, empty folder beside `target` to build into; raise if the place is unwritable."""
    if target.parent.exists() and not target.parent.is_dir():
        raise UserError(f"{target}: cannot write the site there: {target.parent} is not a folder")
    clean_stale(target)
    folder = target.parent / f".{target.name}{BUILDING}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
    except OSError as exc:
        raise UserError(f"{target}: cannot write the site there: {exc.strerror}") from None
    return folder


def swap_in(built: Path, target: Path) -> None:
    """Make `built` the site at `target`, retiring whatever was there."""
    retired = target.parent / f".{target.name}{RETIRED}{uuid.uuid4().hex[:8]}"
    for _ in range(5):  # another build may swap between our two renames: try again
        try:
            if target.exists():
                target.rename(retired)
            built.rename(target)
            break
        except FileNotFoundError:
            continue
        except OSError as exc:
            if not target.exists():
                continue
            raise UserError(f"{target}: cannot replace the site: {exc.strerror}") from None
    else:
        raise UserError(f"{target}: another build kept replacing the site; build again")
    shutil.rmtree(retired, ignore_errors=True)


def discard(built: Path) -> None:
    """Remove a build folder that will not be published."""
    shutil.rmtree(built, ignore_errors=True)


def clean_stale(target: Path) -> None:
    """Remove build and retired folders left by builds that died (their process is gone)."""
    if not target.parent.is_dir():
        return
    for folder in target.parent.glob(f".{target.name}.*"):
        name = folder.name.removeprefix(f".{target.name}")
        if name.startswith(RETIRED):
            shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith(BUILDING):
            pid = name.removeprefix(BUILDING).split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
