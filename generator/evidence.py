"""Evidence: the saved results of `runbook check --save`, shown in the runbook and handout.

`runbooks/evidence/<slug>.json` records when and from where the checks ran, what they were run
against (client, public name, targets, a private CA file or the system store) and each result.
It is written to a temporary file and renamed, so an interrupted run leaves the previous
evidence, never half of a new one. `staleness()` says when saved evidence no longer matches the
client file, so that a page shows it as stale rather than passed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import tempfile
import unicodedata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from generator.check import CheckResult, checked_targets
from generator.derive import Values
from generator.errors import UserError, io_error
from generator.load import find_secret

EVIDENCE_DIR = "evidence"
MAX_BYTES = 1024 * 1024
MAX_CHECK = 40
MAX_TARGET = 400
MAX_DETAIL = 2000
MAX_TARGETS = 500
CUT_MARK = " [cut]"


class SavedResult(BaseModel):
    """One saved check result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(max_length=MAX_CHECK)
    target: str = Field(max_length=MAX_TARGET)
    status: Literal["pass", "warn", "fail", "skip"]
    detail: str = Field(max_length=MAX_DETAIL)

    @field_validator("check", "target", "detail", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        """Even a hand-edited file yields one line of text per field (no Markdown structure)."""
        return one_line(value, len(value)) if isinstance(value, str) else value


class CheckedAgainst(BaseModel):
    """What a check run was made against, to tell later whether it still applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client: str = Field(max_length=MAX_TARGET)
    public_fqdn: str = Field(max_length=MAX_TARGET)
    targets: list[str] = Field(max_length=MAX_TARGETS)
    dns: Literal["before", "after"] | None = None
    # True when the certificate was judged against a CA file given with --cafile, not the
    # system store Office 365 relies on: such a "trusted" proves less.
    private_ca: bool = False

    @field_validator("client", "public_fqdn", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        """Even a hand-edited file yields one line of text per field (no Markdown structure)."""
        return one_line(value, len(value)) if isinstance(value, str) else value


class Evidence(BaseModel):
    """The latest check run of one client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checked_at: dt.datetime
    checked_from: str = Field(max_length=255)
    tool_version: str = Field(max_length=40)
    # Absent in evidence saved before it was recorded; such evidence is always stale.
    checked_against: CheckedAgainst | None = None
    results: list[SavedResult]

    @field_validator("checked_from", "tool_version", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        """Even a hand-edited file yields one line of text per field (no Markdown structure)."""
        return one_line(value, len(value)) if isinstance(value, str) else value

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


def one_line(text: str, limit: int) -> str:
    """Text safe to save and show: one line, no control or bidi characters, at most `limit`.

    Line breaks, tabs and other control characters become spaces; format characters (bidi
    overrides, zero-width marks) are dropped; text over the limit is cut and ends with CUT_MARK.
    """
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" or char in "\u2028\u2029":
            kept.append(" ")
        elif category != "Cf":
            kept.append(char)
    line = "".join(kept)
    if len(line) <= limit:
        return line
    return line[: limit - len(CUT_MARK)].rstrip() + CUT_MARK


HIDDEN = "[hidden: it looked like a credential]"


def without_credentials(detail: str) -> str:
    """A result's text up to anything in it that looks like a credential (`find_secret`): a
    server's answer is quoted in results, and results are published with the runbook. The
    scripts hide the password they sent; this hides any other the answer may carry."""
    found = find_secret(detail)
    if found is None:
        return detail
    return f"{detail[: found[0]].rstrip()} {HIDDEN}".lstrip()


def _credential_in(evidence: Evidence) -> str | None:
    """The field of saved evidence that seems to hold a credential, or None: a file edited by
    hand is published on the page like any other."""
    fields: list[tuple[str, str]] = [("checked_from", evidence.checked_from)]
    against = evidence.checked_against
    if against is not None:
        fields += [("checked_against.client", against.client)]
        fields += [(f"checked_against.targets[{i}]", t) for i, t in enumerate(against.targets)]
    for i, r in enumerate(evidence.results):
        fields += [(f"results[{i}].{name}", getattr(r, name)) for name in ("check", "target")]
        fields += [(f"results[{i}].detail", r.detail)]
    return next((name for name, text in fields if find_secret(text)), None)


def record(
    results: list[CheckResult],
    now: dt.datetime,
    version: str,
    values: Values | None = None,
    *,
    dns_mode: Literal["before", "after"] | None = None,
    private_ca: bool = False,
) -> Evidence:
    """The evidence of a run that just finished on this machine, against `values` when given."""
    against = None
    if values is not None:
        against = CheckedAgainst(
            client=one_line(values.client, MAX_TARGET),
            public_fqdn=values.public_fqdn,
            targets=[one_line(t, MAX_TARGET) for t in checked_targets(values, dns_mode)][
                :MAX_TARGETS
            ],
            dns=dns_mode,
            private_ca=private_ca,
        )
    return Evidence(
        checked_at=now.astimezone(dt.timezone.utc).replace(microsecond=0),
        checked_from=one_line(socket.gethostname(), 255) or "unknown",
        tool_version=version,
        checked_against=against,
        results=[
            SavedResult(
                check=one_line(r.check, MAX_CHECK),
                target=one_line(r.target, MAX_TARGET),
                status=r.status,
                detail=without_credentials(one_line(r.detail, MAX_DETAIL)),
            )
            for r in results
        ],
    )


def staleness(evidence: Evidence, values: Values) -> str | None:
    """Why saved evidence no longer proves anything for this client, or None if it still matches.

    Renderers show evidence with a reason as stale, never as passed.
    """
    against = evidence.checked_against
    if against is None:
        return "saved without a record of what was checked; run the checks again"
    if against.client != one_line(values.client, MAX_TARGET):
        return (
            f"saved for the client {against.client!r}, not {values.client!r}; run the checks again"
        )
    if against.public_fqdn != values.public_fqdn:
        return (
            f"saved for the public name {against.public_fqdn}, which is now "
            f"{values.public_fqdn}; run the checks again"
        )
    expected = [one_line(t, MAX_TARGET) for t in checked_targets(values, against.dns)]
    if against.targets != expected[:MAX_TARGETS]:
        gone = [t for t in against.targets if t not in expected]
        new = [t for t in expected if t not in against.targets]
        changes = []
        if new:
            changes.append("not checked: " + ", ".join(new[:5]) + (" ..." if len(new) > 5 else ""))
        if gone:
            changes.append("no longer a target: " + ", ".join(gone[:5]))
        reason = "; ".join(changes) or "the targets are in another order"
        return f"the client's targets changed ({reason}); run the checks again"
    return None


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
    data = read(path)
    return None if data is None else parse(data, path)


def read(path: Path) -> bytes | None:
    """The bytes of the saved evidence `path`, None when there is none: at most a byte more
    than `MAX_BYTES` (a larger file is refused when parsed, never read whole, even to hash
    it). A link to a file outside its folder is a `UserError`, as a client file's is: what
    the folder does not hold is never published as this client's checks."""
    if not path.is_file():
        return None
    if path.is_symlink():
        try:
            inside = path.resolve(strict=True).is_relative_to(path.parent.resolve(strict=True))
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            raise UserError(
                f"{path}: is a link to a file outside its folder; saved checks are read only "
                "from the folder itself: delete the link and run the checks again with --save"
            )
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def parse(data: bytes, path: Path) -> Evidence:
    """The saved evidence from the bytes of the file `path`; a damaged file is a `UserError`."""
    try:
        if len(data) > MAX_BYTES:
            raise ValueError("larger than 1 MiB")
        evidence = Evidence.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        raise UserError(
            f"{path}: not readable evidence ({reason}); delete it or run the "
            "checks again with --save"
        ) from None
    field = _credential_in(evidence)
    if field:
        raise UserError(
            f"{path}: {field}: looks like a credential, which is never published; delete the "
            "file or run the checks again with --save"
        )
    return evidence
