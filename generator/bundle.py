"""Stage "publish" for one client: a zip of an offline site holding only that client.

MkDocs builds the same site as `make site`, limited to the one client through
`extra.bundle_slug`, with Material's offline plugin so it opens from the file system and its
search still works. The zip is written next to its target and moved into place at the end, so
an interrupted run leaves nothing half-written; the temporary site is removed on every
failure, and what a killed run left is removed by the next one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import yaml
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from generator import publish
from generator.errors import UserError, io_error

PROJECT = Path(__file__).resolve().parent.parent
IFRAME_WORKER_SHIM = "javascripts/vendor/iframe-worker-shim.js"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed timestamps: the same input gives the same zip
TEMP_PREFIX = "runbook-bundle-"


def build_site(
    site_dir: Path, runbooks_dir: Path, *, only: str | None = None, offline: bool = False
) -> None:
    """Build the MkDocs site into `site_dir`, optionally one client only and offline."""
    config_file = PROJECT / "mkdocs.yml"
    plugins = yaml.safe_load(config_file.read_text(encoding="utf-8"))["plugins"]
    if offline:
        plugins = [*plugins, "offline"]  # search index as a script; no directory URLs
    extra: dict[str, object] = {
        "bundle_slug": only,
        "runbooks_dir": str(runbooks_dir.resolve()),
        # its own generated folder, beside its site: the project's build/docs stays as it is
        "generated_dir": str(site_dir.parent / f"{site_dir.name}-docs"),
    }
    if offline:
        # the offline plugin would load this shim from a CDN; ours is vendored (MIT, 1.0.4)
        extra["polyfills"] = [IFRAME_WORKER_SHIM]
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file), site_dir=str(site_dir), plugins=plugins, extra=extra)
    except MkDocsException as exc:
        raise UserError(str(exc).strip()) from None
    try:
        build(config)
    except MkDocsException as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError):  # the hook turned an I/O error into an Abort
            where = site_dir.parent
            raise io_error(where, cause, "cannot build the bundle's site there") from None
        raise UserError(str(exc).strip()) from None
    finally:
        config.plugins.on_shutdown()  # as `mkdocs build` does: the hook cleans up after Ctrl-C


def zip_tree(folder: Path, stream: BinaryIO, root_name: str) -> None:
    """Zip every file under `folder` into `stream` below `root_name/`, deterministically."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{root_name}/{path.relative_to(folder).as_posix()}")
            info.date_time = ZIP_TIME
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())


def write_bundle(slug: str, runbooks_dir: Path, out: Path) -> Path:
    """Write `out`: the offline site of one client, zipped.

    The temporary zip beside `out` is made first, so an unwritable place is reported before
    the site is built.
    """

    def write(stream: BinaryIO) -> None:
        _clean_stale_temp()
        try:
            tmp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        except OSError as exc:
            raise io_error(tempfile.gettempdir(), exc, "cannot make a temporary folder") from None
        try:
            site_dir = Path(tmp) / "site"
            build_site(site_dir, runbooks_dir, only=slug, offline=True)
            zip_tree(site_dir, stream, f"{slug}-runbook")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    if out.parent.is_dir():
        publish.clean_stale_tmp(out.parent, out.name)  # left by a run that was killed
    publish.write_atomic(out, write)
    return out


def _clean_stale_temp() -> None:
    """Remove the temporary sites of bundle runs that were killed (their process is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = folder.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not publish.alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
