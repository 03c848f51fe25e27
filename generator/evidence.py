"""Evidence: the saved results of `runbook check --save`, shown in the runbook and handout.

`runbooks/evidence/<slug>.json` records when and from where the checks ran and each result.
It is written to a temporary file and renamed, so an interrupted run leaves the previous
evidence, never half of a new one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from generator.check import CheckResult
from generator.errors import UserError, io_error

EVIDENCE_DIR = "evidence"
MAX_BYTES = 1024 * 1024


class SavedResult(BaseModel):
    """One saved check result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(max_length=40)
    target: str = Field(max_length=400)
    status: Literal["pass", "warn", "fail", "skip"]
    detail: str = Field(max_length=2000)


class Evidence(BaseModel):
    """The latest check run of one client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checked_at: dt.datetime
    checked_from: str = Field(max_length=255)
    tool_version: str = Field(max_length=40)
    results: list[SavedResult]

    @property
    def summary(self) -> str:
        """`pass`, `warn` or `fail`: the worst status of the run."""
        statuses = {r.status for r in self.results}
        return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"

    def count(self, status: str) -> int:
        """How many results have this status."""
        return sum(1 for r in self.results if r.status == status)


def evidence_path(runbooks_dir: Path, slug: str) -> Path:
    """Where a client's evidence lives."""
    return runbooks_dir / EVIDENCE_DIR / f"{slug}.json"


def record(results: list[CheckResult], now: dt.datetime, version: str) -> Evidence:
    """The evidence of a run that just finished on this machine."""
    return Evidence(
        checked_at=now.astimezone(dt.timezone.utc).replace(microsecond=0),
        checked_from=socket.gethostname()[:255] or "unknown",
        tool_version=version,
        results=[SavedResult(**r.to_dict()) for r in results],
    )


def save(evidence: Evidence, path: Path) -> Path:
    """Write the evidence atomically: a temporary file beside it, then a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(evidence.model_dump_json(indent=2) + "\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:  # read-only or full: one line, never a traceback
        raise io_error(path, exc, "cannot save the check results") from None
    return path


def load(path: Path) -> Evidence | None:
    """The saved evidence, None when there is none; a damaged file is a `UserError`."""
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()[: MAX_BYTES + 1]
        if len(data) > MAX_BYTES:
            raise ValueError("larger than 1 MiB")
        return Evidence.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        raise UserError(
            f"{path}: not readable evidence ({reason}); delete it or run the "
            "checks again with --save"
        ) from None
