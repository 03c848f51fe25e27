"""MkDocs hook: adds one runbook page per client file at build time.

A thin face over `generator.site`; see DESIGN.md. `mkdocs serve` rebuilds when a client file
changes. A bad client file stops the build with its `file:line:col` problems.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from generator.errors import UserError
from generator.site import ClientPage, collect

_pages: list[ClientPage] = []


def runbooks_dir(config: MkDocsConfig) -> Path:
    """`runbooks/` beside mkdocs.yml, or the folder named by RUNBOOKS_DIR."""
    root = Path(config.config_file_path).parent
    return Path(os.environ.get("RUNBOOKS_DIR") or root / "runbooks")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Render every client and add its page under clients/."""
    folder = runbooks_dir(config)
    try:
        pages = collect(folder, Path(config.config_file_path).parent)
    except UserError as exc:
        raise PluginError("invalid client files:\n" + "\n".join(exc.lines())) from None
    _pages[:] = pages
    for page in pages:
        files.append(
            File.generated(config, f"clients/{page.values.slug}.md", content=page.markdown)
        )
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """Rebuild when a client file changes."""
    server.watch(str(runbooks_dir(config)))
    return server
