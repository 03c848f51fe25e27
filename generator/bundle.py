"""Stage "publish" for one client: a zip of an offline site holding only that client.

MkDocs builds the same site as `make site`, limited to the one client through
`extra.bundle_slug`, with Material's offline plugin so it opens from the file system and its
search still works. The zip is written next to its target and moved into place at the end, so
an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

import yaml
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from generator.errors import UserError

PROJECT = Path(__file__).resolve().parent.parent
IFRAME_WORKER_SHIM = "javascripts/vendor/iframe-worker-shim.js"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed timestamps: the same input gives the same zip


def build_site(
    site_dir: Path, runbooks_dir: Path, *, only: str | None = None, offline: bool = False
) -> None:
    """Build the MkDocs site into `site_dir`, optionally one client only and offline."""
    config_file = PROJECT / "mkdocs.yml"
    plugins = yaml.safe_load(config_file.read_text(encoding="utf-8"))["plugins"]
    if offline:
        plugins = [*plugins, "offline"]  # search index as a script; no directory URLs
    extra: dict[str, object] = {"bundle_slug": only, "runbooks_dir": str(runbooks_dir.resolve())}
    if offline:
        # the offline plugin would load this shim from a CDN; ours is vendored (MIT, 1.0.4)
        extra["polyfills"] = [IFRAME_WORKER_SHIM]
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file), site_dir=str(site_dir), plugins=plugins, extra=extra)
        build(config)
    except MkDocsException as exc:
        raise UserError(str(exc).strip()) from None


def zip_tree(folder: Path, out: Path, root_name: str) -> Path:
    """Zip every file under `folder` into `out` below `root_name/`, deterministically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(f"{root_name}/{path.relative_to(folder).as_posix()}")
                info.date_time = ZIP_TIME
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def write_bundle(slug: str, runbooks_dir: Path, out: Path) -> Path:
    """Write `out`: the offline site of one client, zipped."""
    with tempfile.TemporaryDirectory(prefix="runbook-bundle-") as tmp:
        site_dir = Path(tmp) / "site"
        build_site(site_dir, runbooks_dir, only=slug, offline=True)
        return zip_tree(site_dir, out, f"{slug}-runbook")
