"""Finding client files, loading their values, and naming the revision they print with.

The command line, the site and the handouts all reach a client through here, so a slug, a
path and a revision mean the same thing everywhere.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import generator
from generator.derive import Values, derive
from generator.errors import UserError
from generator.evidence import Evidence, evidence_path
from generator.evidence import load as load_evidence
from generator.model import check_slug, load_client, slug_of


def client_files(runbooks_dir: Path) -> list[Path]:
    """Every client file in the folder, sorted by name."""
    return sorted(p for p in runbooks_dir.glob("*.yml") if p.is_file())


def client_path(runbooks_dir: Path, name: str) -> Path:
    """A slug names `runbooks/<slug>.yml`; anything with a slash or `.yml` is a path."""
    if "/" in name or "\\" in name or name.endswith(".yml"):
        return Path(name)
    return runbooks_dir / f"{check_slug(name)}.yml"


def load_values(runbooks_dir: Path, name: str) -> Values:
    """Load, validate and derive one client."""
    path = client_path(runbooks_dir, name)
    if not path.is_file():
        raise UserError(f"{path}: no such client file (try `runbook new {path.stem}`)")
    return derive(load_client(path), slug_of(path))


def evidence_file(client_file: Path) -> Path:
    """Where the saved check results of this client file live."""
    return evidence_path(client_file.parent, client_file.name.removesuffix(".yml"))


def saved_evidence(client_file: Path) -> Evidence | None:
    """The client's latest saved check results, or None."""
    return load_evidence(evidence_file(client_file))


def revision(client_file: Path) -> str:
    """A short hash of the client file, its saved check results (if any) and the tool version,
    printed on the page and on every page of the handout."""
    try:
        data = client_file.read_bytes()
    except OSError as exc:
        raise UserError(f"{client_file}: cannot read: {exc.strerror}") from None
    saved = evidence_file(client_file)
    if saved.is_file():
        data += b"\0evidence\0" + saved.read_bytes()
    digest = hashlib.sha256(data + b"\0cutover-runbooks " + generator.__version__.encode())
    return digest.hexdigest()[:10]
