"""Emulated engine controller and pitch gimbal actuator (PWM + arm line).

Servo-style inputs (RC/ESC convention, 50 Hz frame): the controller reads a
pulse of 1000 us as idle/zero thrust and 2000 us as full thrust; the gimbal
reads 1500 us as centre and +/- 500 us as +/- its mechanical travel. A pulse
outside 800..2200 us, no pulses (duty 0 / PWM off) or a frame rate outside
30..400 Hz is "signal lost": the controller holds its last command for
`hold_s` (DESIGN.md: the engine electronics hold across a reset), then cuts.
The arm line high arms the controller (a latch); with a live PWM signal a low
arm line disarms at once (zero thrust). While the signal is lost the latch and
the last throttle are held for `hold_s`; when the hold expires the engine is
cut and disarmed. So a computer reset (pulses stop, the arm pin floats low)
does not cut the engine if the firmware is back within `hold_s`.

Outputs (for the simulator): `throttle_cmd` 0..1, `armed`, `pitch_cmd_rad`.
Faults: stuck (outputs frozen), bias (throttle fraction), saturate (full thrust).
"""
from __future__ import annotations

import math

from host_tools.emu.bus import Faults

PULSE_MIN_US = 1000.0
PULSE_MAX_US = 2000.0
VALID_LO_US = 800.0
VALID_HI_US = 2200.0


def _pulse_us(pwm):
    """The pulse width a servo input reads (us), or None for no valid signal:
    PWM off or duty 0, a frame rate outside 30..400 Hz, a pulse outside
    800..2200 us."""
    if pwm is None or not pwm.enabled or pwm.duty_ns <= 0:
        return None
    if not 30 <= pwm.freq <= 400:
        return None
    us = pwm.duty_ns / 1000.0
    if not VALID_LO_US <= us <= VALID_HI_US:
        return None
    return us


class EngineEmu:
    def __init__(self, hold_s: float = 1.0, gimbal_travel_deg: float = 20.0,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.clock = None
        self.hold_s = hold_s
        self.travel_rad = math.radians(gimbal_travel_deg)
        self._thr = self._arm = self._gim = None
        self._last_thr = 0.0
        self._last_pitch = 0.0
        self._lost_since: float | None = None
        self._armed = False
        self._glost_since: float | None = None
        self._frozen: tuple | None = None

    def connect(self, throttle_pwm, arm_pin, gimbal_pwm=None) -> None:
        """Bench wiring: PWM/pin state objects of the board's outputs."""
        self._thr, self._arm, self._gim = throttle_pwm, arm_pin, gimbal_pwm
        for pwm in (throttle_pwm, gimbal_pwm):
            if pwm is not None and hasattr(pwm, "on_change"):
                pwm.on_change = self._sample

    def _sample(self) -> None:
        """The controller sees every change of its inputs as it happens."""
        _ = self.throttle_cmd, self.pitch_cmd_rad

    def _now(self) -> float:
        return self.clock.now_s if self.clock is not None else self.now_s

    def tick(self, now_s: float) -> None:
        self.now_s = now_s
        _ = self.throttle_cmd, self.pitch_cmd_rad

    def _update(self) -> float:
        """Evaluate the controller at the bench time: arm latch, hold, throttle."""
        # (the simulator asks ~4 times a cycle: the clock read written in)
        clock = self.clock
        now = clock.now_s if clock is not None else self.now_s
        us = _pulse_us(self._thr)
        arm = self._arm
        line = bool(arm is not None and arm.level())
        if us is not None:
            self._lost_since = None
            thr = (us - PULSE_MIN_US) / (PULSE_MAX_US - PULSE_MIN_US)
            self._last_thr = thr = 1.0 if thr > 1.0 else (thr if thr > 0.0 else 0.0)
            # with a live signal the arm line is obeyed at once
            self._armed = line
            return thr
        if self._lost_since is None:
            self._lost_since = now
        if now - self._lost_since <= self.hold_s:
            # signal lost (e.g. the computer is rebooting): hold the last
            # command and the arm latch; a high arm line still arms
            self._armed = self._armed or line
            return self._last_thr
        self._armed = False               # hold expired: cut and disarm
        self._last_thr = 0.0
        return 0.0

    @property
    def armed(self) -> bool:
        self._update()
        return self._armed

    @property
    def throttle_cmd(self) -> float:
        f = self.faults
        if f.stuck and self._frozen is not None:
            return self._frozen[0]
        thr = self._update()
        if not self._armed:
            thr = 0.0
        if f.saturate and self._armed:
            thr = 1.0
        thr = min(1.0, max(0.0, thr + f.bias))
        self._frozen = (thr, self._frozen[1] if self._frozen else 0.0)
        return thr

    @property
    def pitch_cmd_rad(self) -> float:
        if self.faults.stuck and self._frozen is not None:
            return self._frozen[1]
        us = _pulse_us(self._gim)
        if us is not None:
            self._glost_since = None
            frac = max(-1.0, min(1.0, (us - 1500.0) / 500.0))
            self._last_pitch = frac * self.travel_rad
        elif self._glost_since is None:
            self._glost_since = self._now()
        p = self._last_pitch
        self._frozen = (self._frozen[0] if self._frozen else 0.0, p)
        return p
