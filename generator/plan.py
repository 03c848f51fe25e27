"""Whether the planned window still leaves time for what must happen before the MX switch.

Pure functions of a `Client` and today's date, returning `(code, message)` pairs. Today is a
parameter, never read here. The lead times are the schedule's own (`generator.derive`): the
MX TTL lowered one old TTL before the switch (two days when unknown), and the preparation,
the batch and its initial sync before that. `runbook validate` reports these warnings against
today's date; pages and handouts do not carry them, so a build gives the same pages every day.
"""

from __future__ import annotations

import datetime as dt

from generator.derive import batch_lead_days, ttl_lead_days
from generator.model import Client


def lead_days(client: Client) -> int:
    """Days the plan needs between today and the switch."""
    return max(ttl_lead_days(client), batch_lead_days(client))


def window_warnings(client: Client, today: dt.date) -> list[tuple[str, str]]:
    """`window-past` when the window is before today; `window-too-close` when fewer days than
    `lead_days` remain until it (the message names the earliest sensible date)."""
    window = client.window
    if window is None:
        return []
    if window < today:
        return [
            (
                "window-past",
                f"The window {window.isoformat()} is in the past: set the planned MX switch date "
                "(window) before using this runbook's schedule.",
            )
        ]
    needed = lead_days(client)
    left = (window - today).days
    if left >= needed:
        return []
    earliest = today + dt.timedelta(days=needed)
    return [
        (
            "window-too-close",
            f"The window {window.isoformat()} is {_days(left)} away; the plan needs {needed} "
            f"(MX TTL lowered {_days(ttl_lead_days(client))} ahead, preparation and initial sync "
            f"{_days(batch_lead_days(client))} ahead): the earliest sensible window is "
            f"{earliest.isoformat()}.",
        )
    ]


def _days(count: int) -> str:
    """`1 day`, `2 days`."""
    return f"{count} day{'s' * (count != 1)}"
