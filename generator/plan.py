"""Whether the planned window still leaves time for what must happen before the MX switch.

Pure functions of a `Client` and today's date, returning `(code, message)` pairs for the
derive stage's warnings. Today is a parameter, never read here, so the same inputs give the
same warnings (and golden files stay stable when the caller fixes the date).

The lead time counted back from the switch (DOMAIN.md section 11, TTL; section 9, batch):
- the MX TTL is lowered at least one old TTL before the switch (whole days, plus the day it is
  done); when the old TTL is unknown, two days are planned;
- the batch starts early enough for the initial sync (from the mailbox size and upstream, or a
  week when either is unknown), with a day for one incremental sync and a day in hand, and the
  preparation (ValidPorts, checks, any reboot) two days before that.
Both are deadlines counted back from the switch: the window is too close when the earlier of
them has already passed.
"""

from __future__ import annotations

import datetime as dt
import math

from generator.model import Client

UNKNOWN_TTL_DAYS = 2  # DOMAIN.md section 11: "until then plan two days"
UNKNOWN_SIZE_LEAD_DAYS = 7  # batch start when the size or the upstream is unknown
BUFFER_DAYS = 2  # one 24-hour incremental sync plus a day in hand before the switch
PREPARE_DAYS_BEFORE_START = 2  # ValidPorts, checks and any reboot before the batch starts
SYNC_SHARE_OF_UPSTREAM = 0.5  # RPC over HTTP gets about half the link


def ttl_lead_days(client: Client) -> int:
    """Days before the switch the MX TTL must be lowered: one old TTL, rounded up to whole
    days, plus the day of the change; two days when any domain's TTL is unknown."""
    known = [d.mx_ttl for d in client.domains if d.mx_ttl is not None]
    if len(known) < len(client.domains):
        return UNKNOWN_TTL_DAYS
    return math.ceil(max(known) / 86400) + 1


def batch_lead_days(client: Client) -> int:
    """Days before the switch the preparation starts: initial sync, buffer, preparation."""
    mailboxes, network = client.mailboxes, client.network
    if mailboxes is None or mailboxes.total_gb is None or network is None:
        before_switch = UNKNOWN_SIZE_LEAD_DAYS
    else:
        hours = mailboxes.total_gb * 8000 / (network.upstream_mbps * SYNC_SHARE_OF_UPSTREAM) / 3600
        before_switch = max(1, math.ceil(hours / 24)) + BUFFER_DAYS
    return before_switch + PREPARE_DAYS_BEFORE_START


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
            f"The window {window.isoformat()} is {left} day{'s' * (left != 1)} away; the plan "
            f"needs {needed} (MX TTL lowered {ttl_lead_days(client)} days ahead, preparation and "
            f"initial sync {batch_lead_days(client)} days ahead): the earliest sensible window is "
            f"{earliest.isoformat()}.",
        )
    ]
