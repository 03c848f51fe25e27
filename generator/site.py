"""Stage "publish" for the site: every client's page, built in memory for MkDocs.

The MkDocs hook (`generator/mkdocs_hook.py`) calls `collect` and hands the pages over; nothing
is written into `docs/`. All clients are checked before any page is produced, so one bad
file fails the build with every problem of every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.derive import Values, derive
from generator.errors import UserError
from generator.model import load_client, slug_of
from generator.render import render_runbook


@dataclass(frozen=True)
class ClientPage:
    """One client's derived values and rendered runbook."""

    path: Path
    values: Values
    markdown: str


def client_files(runbooks_dir: Path) -> list[Path]:
    """Every client file in the folder, sorted by name."""
    return sorted(p for p in runbooks_dir.glob("*.yml") if p.is_file())


def collect(runbooks_dir: Path, display_root: Path | None = None) -> list[ClientPage]:
    """Load, derive and render every client, or raise with all their problems."""
    pages: list[ClientPage] = []
    problems: list[str] = []
    for path in client_files(runbooks_dir):
        shown = _shown(path, display_root)
        try:
            values = derive(load_client(path, shown), slug_of(path))
            pages.append(ClientPage(path, values, render_runbook(values)))
        except UserError as exc:
            problems += exc.lines()
    if problems:
        raise _SiteError(problems)
    return sorted(pages, key=lambda p: (p.values.client.casefold(), p.values.slug))


def _shown(path: Path, root: Path | None) -> str:
    """The path as the user knows it: relative to the project when it lies inside it."""
    if root is not None and path.resolve().is_relative_to(root.resolve()):
        return str(path.resolve().relative_to(root.resolve()))
    return str(path)


class _SiteError(UserError):
    """Problems of several client files, reported together."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        super().__init__("\n".join(lines))

    def lines(self) -> list[str]:
        """One line per problem."""
        return list(self._lines)
