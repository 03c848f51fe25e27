"""The render cache: a client's values and page kept between runs, keyed by what makes them.

A client's page is a function of the client file (its bytes, and its name, which gives the
slug), the client's saved check results and the generator itself (its code and templates, the
check scripts whose rules it quotes, Python and the libraries that read and validate the
file). Today's date plays no part: the warnings about a window in the past or too close are
the command line's, never the page's (`plan.py`), and saved checks are judged against the
client file, not against their age (`evidence.staleness`). So the key is the hash of exactly
those, and a build with nothing changed reads every page back instead of making it again.

Entries live in `.cache/render/` beside the project's `mkdocs.yml`, one per client file,
holding the key it was made for: a changed file replaces its entry, and a run over a whole
folder of client files removes the entries of files no longer there (`prune`). They are pickles: the
folder is the project's own and nothing but this module writes it, each entry atomically. An
entry that cannot be read or was made for another key is made again; a file that fails is
never stored, so its problems are reported on every run. Outside a project, or where the
folder cannot be written, nothing is cached.

An entry holds the page, the saved checks, the `Summary` the site shows beside the page and
the client's `Values` as JSON, read back only when something asks for them (the handouts, the
command line): a build with nothing changed reads a few strings a client instead of some
fifty models, and a thousand clients' `Values` are not kept alive for the cycle collector to
walk again and again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import BinaryIO

import jinja2
import pydantic
import pydantic_core
import yaml

import generator
from generator import collector
from generator.clients import evidence_file, revision, revision_of, saved_evidence
from generator.derive import Values, derive
from generator.errors import UserError
from generator.evidence import Evidence, staleness
from generator.evidence import parse as parse_evidence
from generator.evidence import read as read_evidence
from generator.load import parse_document, read_source
from generator.model import slug_of, validate_document
from generator.page import render_runbook
from generator.publish import clean_stale_tmp, write_atomic
from generator.render import cache_folder
from generator.scripts import CHECKS_DIR

FOLDER = "render"
_KEY_BYTES = 64  # a sha256 in hex, at the start of each entry


@dataclass(frozen=True)
class Summary:
    """The values the site shows of a client outside its page: the page's title and address,
    the home table's row, the registry file offered for download."""

    client: str
    slug: str
    public_fqdn: str
    servers: tuple[str, ...]  # the Exchange servers' NetBIOS names
    mailbox_count: int | None
    warnings: int
    window: dt.date | None
    reg_file: str
    stale: str | None  # why the saved checks no longer match the client file, or None

    @classmethod
    def of(cls, values: Values, evidence: Evidence | None) -> Summary:
        """The summary of a client's values (and of its saved checks)."""
        return cls(
            client=values.client,
            slug=values.slug,
            public_fqdn=values.public_fqdn,
            servers=tuple(s.name for s in values.topology.servers),
            mailbox_count=values.mailbox_count,
            warnings=len(values.warnings),
            window=values.window,
            reg_file=values.registry.reg_file,
            stale=staleness(evidence, values) if evidence else None,
        )


@dataclass(frozen=True)
class Rendered:
    """What the site needs of a published client: its page, its saved checks, its summary,
    and its values, kept as JSON until asked for."""

    summary: Summary
    markdown: str
    evidence: Evidence | None
    values_json: str  # `Values.model_dump_json()`

    @cached_property
    def values(self) -> Values:
        """The client's values, read from their JSON on first use (and kept)."""
        return Values.model_validate_json(self.values_json)

    def __getstate__(self) -> dict[str, object]:
        """What an entry stores: the fields, never the values read from them."""
        state = dict(self.__dict__)
        state.pop("values", None)
        return state


def rendered(path: Path, display: str | None = None) -> Rendered | None:
    """The values and page of the client file `path` (named `display` in problems), from the
    cache when nothing they depend on changed; None for a draft (`draft: true`), which is
    validated but never published. Raises `UserError` as loading, deriving or rendering do."""
    name = display or str(path)
    slug_of(path)  # a name that is no slug is refused first, as `model.read_client` does
    data = read_source(path, name)
    where = os.path.abspath(path)
    folder = _folder(os.path.dirname(where))
    try:
        saved = _evidence_bytes(path)
    except OSError:  # not cached: loading the saved checks again says what is wrong with them
        with collector.paused():
            return _make(path, data, name, None, unread=True)
    if folder is None:
        with collector.paused():
            return _make(path, data, name, saved)
    key = _key(path, data, saved)
    entry = folder / _entry_name(where)
    found = _read(entry, key)
    if found is not None:
        return found[0]
    with collector.paused():
        # made from the very bytes the key names, so an entry never pairs one file with
        # another's page, even when the files change meanwhile
        made = _make(path, data, name, saved)
        _write(entry, key, made)
    return made


def _entry_name(where: str) -> str:
    """The name of the entry of the client file at the absolute path `where`: its folder's
    mark, then its own (`prune` finds a folder's entries by the mark)."""
    return f"{_folder_mark(os.path.dirname(where))}-{_digest(where, 32)}.pkl"


def _folder_mark(runbooks: str) -> str:
    """What the names of the entries of the client files in `runbooks` (absolute) start with."""
    return _digest(runbooks, 12)


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(os.fsencode(text)).hexdigest()[:length]


def prune(runbooks: Path, paths: Sequence[Path]) -> None:
    """Remove the entries of client files that are no longer in `runbooks` (deleted or
    renamed), given every client file it holds now, and entries named as before folders
    had marks. Entries of other folders of the project stay."""
    where = os.path.abspath(runbooks)
    folder = _folder(where)
    if folder is None:
        return
    mark = _folder_mark(where) + "-"
    kept = {_entry_name(os.path.abspath(p)) for p in paths}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not name.endswith(".pkl") or name in kept:
            continue
        if name.startswith(mark) or "-" not in name:
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                os.unlink(entry.path)


def _make(
    path: Path, data: bytes, name: str, saved: bytes | None, *, unread: bool = False
) -> Rendered | None:
    """Load, derive and render from the bytes read (`saved`: those of the saved checks, None
    for none; `unread`: they could not be read, and are loaded again to say why)."""
    document = parse_document(data, name)
    client = validate_document(document)
    if document.draft:
        return None
    values = derive(client, slug_of(path))
    if unread:
        evidence, made_from = saved_evidence(path), revision(path)
    else:
        evidence = parse_evidence(saved, evidence_file(path)) if saved is not None else None
        made_from = revision_of(data, saved)
    markdown = render_runbook(values, made_from, evidence)
    return Rendered(Summary.of(values, evidence), markdown, evidence, values.model_dump_json())


def _evidence_bytes(path: Path) -> bytes | None:
    """The bytes of the client's saved check results, None when there are none."""
    return read_evidence(evidence_file(path))


def _key(path: Path, data: bytes, saved: bytes | None) -> bytes:
    """The hash of everything a client's page is made from."""
    digest = hashlib.sha256(generator_version())
    for part in (path.name.encode(), data, b"none" if saved is None else b"saved:" + saved):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest().encode()


@cache
def generator_version() -> bytes:
    """A hash of the generator's source and templates, the check scripts, Python and the
    libraries between a client file and its page: any change to them makes every page again."""
    digest = hashlib.sha256()
    libraries = (
        sys.version,
        pydantic.VERSION,
        pydantic_core.__version__,
        yaml.__version__,
        str(getattr(yaml, "__with_libyaml__", False)),
        jinja2.__version__,
    )
    digest.update("\0".join(libraries).encode())
    package = Path(generator.__file__).resolve().parent
    files = [(package, p) for p in package.rglob("*") if "__pycache__" not in p.parts]
    files += [(CHECKS_DIR, p) for p in CHECKS_DIR.rglob("*.py") if "__pycache__" not in p.parts]
    for base, file in sorted(files, key=lambda f: (str(f[0]), str(f[1]))):
        if file.is_file():
            part = file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes()
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest().encode()


@cache
def _folder(runbooks: str) -> Path | None:
    """`.cache/render` of the project holding this folder of client files (an absolute path),
    or None; temporary files of writers that died are removed once per run."""
    folder = cache_folder(Path(runbooks), FOLDER)
    if folder is not None:
        clean_stale_tmp(folder)
    return folder


def _read(entry: Path, key: bytes) -> tuple[Rendered | None] | None:
    """The entry's content, as a 1-tuple, if it was made for `key`; None when it is missing,
    unreadable, damaged or made for another key."""
    try:
        with entry.open("rb") as handle:
            if handle.read(_KEY_BYTES + 1) != key + b"\n":
                return None
            found = _unpickle(handle)
    except Exception:  # a damaged entry may fail in any way unpickling; it is made again
        return None
    if not isinstance(found, tuple) or len(found) != 1:
        return None
    made = found[0]
    return (made,) if made is None or isinstance(made, Rendered) else None


def _unpickle(handle: BinaryIO) -> object:
    """An entry's content."""
    with collector.paused():
        return pickle.load(handle)


def _write(entry: Path, key: bytes, made: Rendered | None) -> None:
    """Store an entry; a cache that cannot be written is only slower next time."""
    data = key + b"\n" + pickle.dumps((made,), protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(UserError):
        write_atomic(entry, lambda file: file.write(data), durable=False)
