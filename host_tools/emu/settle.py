"""The firmware's start-up waits as the emulated parts see them.

On the host the firmware's `sleep_us` (lander.compat) does not wait: it tells
this module how long the firmware waited. A part's settling-time model reads
`now_us(part)`: the bench time of its last transaction plus every wait the
firmware made so far. Only differences between two moments are used (the time
since a power-mode write), so the running total is never reset.
"""
from __future__ import annotations

import sys

_total = [0]


def _on_sleep(us) -> None:
    _total[0] += int(us)


def on_sleep(us) -> None:
    """A wait the firmware made elsewhere (a HIL board's, reported over the link)."""
    _on_sleep(us)


def _hook_in() -> None:
    # the firmware's compat module may be re-imported (checking mode): hook
    # into the one that is loaded now
    hc = sys.modules.get("lander._hostcompat")
    if hc is not None and _on_sleep not in getattr(hc, "_sleep_hooks", [_on_sleep]):
        hc._sleep_hooks.append(_on_sleep)


def now_us(part) -> int:
    _hook_in()
    return int(round(getattr(part, "now_s", 0.0) * 1e6)) + _total[0]


_hook_in()
