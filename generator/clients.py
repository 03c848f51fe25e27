"""Finding client files, loading their values, and naming the revision they print with.

The command line, the site and the handouts all reach a client through here, so a slug, a
path and a revision mean the same thing everywhere.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import generator
from generator.derive import Values, derive
from generator.errors import UserError
from generator.model import CLIENT_SUFFIXES, check_slug, read_client, slug_of

if TYPE_CHECKING:
    from generator.evidence import Evidence


def find_project(start: Path) -> Path | None:
    """The project holding `start`: the nearest folder up with `mkdocs.yml` and `runbooks/`."""
    for folder in (start, *start.parents):
        if (folder / "mkdocs.yml").is_file() and (folder / "runbooks").is_dir():
            return folder
    return None


def find_runbooks(start: Path) -> Path:
    """`runbooks/` of the project holding `start`, shown relative to the current folder;
    plain `runbooks` outside a project."""
    project = find_project(start)
    return Path(os.path.relpath(project / "runbooks")) if project else Path("runbooks")


def client_files(runbooks_dir: Path) -> list[Path]:
    """Every client file in the folder (`.yml` or `.yaml`), sorted by name; links are listed
    too, so that loading refuses those pointing outside the folder instead of skipping them."""
    found = sorted(
        p
        for suffix in CLIENT_SUFFIXES
        for p in runbooks_dir.glob(f"*{suffix}")
        if p.is_file() or p.is_symlink()
    )
    counts = Counter(p.stem for p in found)  # not list.count for each: a thousand clients
    twice = sorted(s for s, n in counts.items() if n > 1)
    if twice:
        raise UserError(
            f"{runbooks_dir / twice[0]}.yml and .yaml: one client, two files; keep one of them"
        )
    return found


def client_path(runbooks_dir: Path, name: str) -> Path:
    """A slug names `runbooks/<slug>.yml` (or `.yaml`); anything with a slash or one of those
    endings is a path, wherever it is."""
    if "/" in name or "\\" in name or name.endswith(CLIENT_SUFFIXES):
        return Path(name)
    path = runbooks_dir / f"{check_slug(name)}.yml"
    other = path.with_suffix(".yaml")
    return other if not path.exists() and other.exists() else path


def load_values(runbooks_dir: Path, name: str, verb: str | None = None) -> Values:
    """Load, validate and derive one client; a draft is refused: it may still hold FILL-IN
    markers, and every verb but `validate` works on finished files (`verb` names the one
    refusing it)."""
    path = client_path(runbooks_dir, name)
    slug_of(path)  # its name first: a name too long for the disk is no slug either
    if path.is_dir():
        raise UserError(f"{path}: a folder, not a client file")
    if not (path.is_file() or path.is_symlink()):
        raise UserError(missing_client(path, runbooks_dir))
    client, draft = read_client(path)
    if draft:
        command = f"`runbook {verb}`" if verb else "this"
        raise UserError(
            f"{path}: is a draft (draft: true); {command} works on finished client files only: "
            "set `draft: false` when it is ready (`runbook validate` then lists any FILL-IN left)"
        )
    return derive(client, slug_of(path))


def missing_client(path: Path, runbooks_dir: Path) -> str:
    """The one line for a client file that is not there: the nearest slug beside it when the
    name looks mistyped (`runbook new` would start a second client with the typo), else, in
    the runbooks folder, how to start one."""
    try:
        known = sorted({p.stem for p in path.parent.iterdir() if p.suffix in CLIENT_SUFFIXES})
    except OSError:
        known = []
    close = difflib.get_close_matches(path.stem, known, n=1, cutoff=0.8)
    if close:
        return f"{path}: no such client file; did you mean {close[0]}?"
    if path.parent == runbooks_dir:  # `runbook new` writes there, not beside a path given
        return f"{path}: no such client file (try `runbook new {path.stem}`)"
    return f"{path}: no such client file"


def evidence_file(client_file: Path) -> Path:
    """Where the saved check results of this client file live."""
    from generator.evidence import evidence_path  # only here: `runbook values` needs none of it

    slug = client_file.stem if client_file.suffix in CLIENT_SUFFIXES else client_file.name
    return evidence_path(client_file.parent, slug)


def saved_evidence(client_file: Path) -> Evidence | None:
    """The client's latest saved check results, or None."""
    from generator.evidence import load

    return load(evidence_file(client_file))


def revision(client_file: Path) -> str:
    """A short hash of the client file, its saved check results (if any) and the tool version,
    printed on the page and on every page of the handout."""
    try:
        data = client_file.read_bytes()
    except OSError as exc:
        raise UserError(f"{client_file}: cannot read: {exc.strerror}") from None
    from generator.evidence import read

    return revision_of(data, read(evidence_file(client_file)))


def revision_of(data: bytes, saved: bytes | None) -> str:
    """`revision` of a client file's bytes and its saved check results' bytes (or None)."""
    if saved is not None:
        data += b"\0evidence\0" + saved
    digest = hashlib.sha256(data + b"\0cutover-runbooks " + generator.__version__.encode())
    return digest.hexdigest()[:10]
