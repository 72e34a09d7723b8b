# Benewake TF-Luna / TFmini-S LiDAR rangefinder, UART standard 9-byte output.
#
# TF-Luna product manual (SJ-PM-TF-Luna A05): 6.2 serial port protocol
# (115200 8N1), Appendix I "9-byte/cm (Default)" output format; TFmini-S uses
# the same standard frame. Default output 100 Hz.
#   byte 0-1 : 0x59 0x59 header
#   byte 2-3 : Dist_L, Dist_H   distance in cm (default unit)
#   byte 4-5 : Amp_L, Amp_H     signal strength
#   byte 6-7 : Temp_L, Temp_H   chip temperature, degC = raw / 8 - 256
#   byte 8   : checksum = low 8 bits of the sum of bytes 0..7
# "Dist value is unreliable when Amp < 100 or Amp = 65535 (Overexposure)"
# (TF-Luna manual, Appendix I): such samples are INVALID.
from lander.compat import const
from lander.drivers import OK, NOT_READY, INVALID, OUT_OF_RANGE
from lander.events import post
from lander.drivers.uart_rx import RxWindow

_HEADER = const(0x59)
_FRAME_LEN = const(9)
_AMP_MIN = const(100)           # manual Appendix I: below this, distance unreliable
_AMP_SATURATED = const(65535)   # overexposure
_RX_CHUNK = const(32)
_BUF_LEN = const(48)

# Events (drivers 0x0140-0x014F)
EV_LUNA_CHECKSUM = const(0x0140)   # first checksum error after a good frame


class TfLuna:
    def __init__(self, uart, max_range_mm=8000):
        self._uart = uart
        self.max_range_mm = max_range_mm    # TF-Luna 8 m, TFmini-S 12 m
        self._rx = RxWindow(_BUF_LEN, _RX_CHUNK)
        self._buf = self._rx.buf
        self.distance_mm = 0
        self.strength = 0
        self.temperature_cdeg = 0
        self.status = NOT_READY
        self.frames = 0
        self.errors = 0
        self.checksum_errors = 0
        self.skipped_bytes = 0
        self.invalid = 0
        self.out_of_range = 0
        self._events_armed = True

    def read(self):
        """Parse what has arrived; OK / NOT_READY / INVALID / OUT_OF_RANGE. Never raises."""
        buf = self._buf
        rx = self._rx
        if not rx.fill(self._uart):
            self.errors += 1
        n = rx.n
        result = NOT_READY
        s = 0
        while n - s >= _FRAME_LEN:
            if buf[s] != _HEADER or buf[s + 1] != _HEADER:
                s += 1
                self.skipped_bytes += 1
                continue
            chk = 0
            for i in range(s, s + 8):
                chk += buf[i]
            if (chk & 0xFF) != buf[s + 8]:
                if self._events_armed:
                    post(EV_LUNA_CHECKSUM, self.checksum_errors)
                    self._events_armed = False
                self.checksum_errors += 1
                self.errors += 1
                s += 1                        # resync on the next byte
                if result == NOT_READY:
                    result = INVALID
                continue
            result = self._decode(s)
            s += _FRAME_LEN
        # A lone header byte at the end may start the next frame; anything
        # else before it that cannot start a frame is dropped on the next pass.
        rx.consume(s)
        if result != NOT_READY:
            self.status = result
        return result

    def _decode(self, s):
        buf = self._buf
        self.frames += 1
        self._events_armed = True
        amp = buf[s + 4] | (buf[s + 5] << 8)
        self.strength = amp
        t = buf[s + 6] | (buf[s + 7] << 8)
        self.temperature_cdeg = ((t * 25) >> 1) - 25600      # raw/8 - 256 degC
        d = (buf[s + 2] | (buf[s + 3] << 8)) * 10
        if amp < _AMP_MIN or amp == _AMP_SATURATED:
            self.invalid += 1
            return INVALID
        self.distance_mm = d
        if d > self.max_range_mm:
            self.out_of_range += 1
            return OUT_OF_RANGE
        return OK

