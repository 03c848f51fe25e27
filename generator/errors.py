"""Errors a user can cause, each carrying where in which file it happened.

`ClientFileError` is raised by the load and model stages for anything wrong in a client
file: it holds every `Problem` of that file at once so the user fixes them in one pass. The
command line prints each problem on one line and exits 2; it never shows a traceback for it.
`RenderError` is raised by the render stage when a page would still hold a placeholder.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a client file, printed as `file:line:col: path: message`."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return _one_line(text)


def _one_line(text: str) -> str:
    """Control characters escaped, so one problem is always exactly one line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class UserError(Exception):
    """Base of every error the user can cause; the CLI prints its lines and exits 2."""

    exit_code = 2

    def lines(self) -> list[str]:
        """The message, one line per problem."""
        return [str(self)]


class ClientFileError(UserError):
    """Every problem found in one client file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        """One line per problem, in file order."""
        return [str(p) for p in self.problems]


class RenderError(UserError):
    """A rendered page still holds template syntax or a placeholder."""


class OperationFailed(UserError):
    """An operation that failed on the way (disk full, I/O error): one line, exit 1."""

    exit_code = 1


# Errors that say the place named is wrong (read-only, missing, not a folder): the user's
# input, exit 2. Anything else (disk full, quota, I/O error) is an operation that failed.
_PLACE_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.ETXTBSY,
    }
)


def io_error(where: Path | str | None, exc: OSError, doing: str = "cannot write") -> UserError:
    """One line for an OSError: `<where>: cannot write: <reason>`, with its exit status.

    A read-only, missing or wrong place is bad input (exit 2); a full disk or a failing device
    is an operation that failed (exit 1).
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    text = _one_line(f"{where}: {doing}: {reason}" if where else f"{doing}: {reason}")
    return UserError(text) if exc.errno in _PLACE_ERRNOS else OperationFailed(text)
