"""The emulated buses behave like MicroPython's machine.I2C / SPI / UART (the
MicroPython library docs): scan() lists the addresses 0x08..0x77 that
acknowledge, readfrom_into / readfrom / writeto are plain transfers (no
register address phase), readinto / read clock the `write` octet while
reading, UART read / readinto return None when nothing is there; and the
wire faults every part gets the same way (NACK rate, dropouts at the bench
time, bit flips) draw from the part's fault stream only when configured.

A stand-in register part records what the bus asked of it."""
import errno
import random
from array import array

import pytest

from host_tools.emu.bus import EmuI2C, EmuSPI, EmuUART, Faults


class Clock:
    def __init__(self, now_s=0.0):
        self.now_s = now_s


class RegPart:
    """A register file of 128 octets with auto-increment; SPI echo of the
    register contents after the address octet."""

    def __init__(self, faults=None):
        self.faults = faults if faults is not None else Faults()
        self.regs = bytearray(range(128))
        self.now_s = -1.0
        self.calls = []

    def i2c_read(self, reg, n):
        self.calls.append(("read", reg, n))
        return bytes(self.regs[(reg + i) & 0x7F] for i in range(n))

    def i2c_write(self, reg, data):
        self.calls.append(("write", reg, bytes(data)))
        for i, b in enumerate(data):
            self.regs[(reg + i) & 0x7F] = b

    def spi_transaction(self, tx):
        self.calls.append(("spi", bytes(tx)))
        return bytes(len(tx) and [0]) + bytes(self.regs[(tx[0] + i) & 0x7F] for i in range(len(tx) - 1))


class Pin:
    def __init__(self, v=1):
        self.v = v

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


# -- I2C ------------------------------------------------------------------------------

def test_scan_lists_the_acknowledging_addresses_0x08_to_0x77_in_order():
    i2c = EmuI2C(clock=Clock(1.0))
    for a in (0x6A, 0x77, 0x18, 0x08, 0x07, 0x78):
        i2c.attach(a, RegPart())
    i2c.attach(0x30, RegPart(Faults(nack=True)))
    i2c.attach(0x40, RegPart(Faults(dropouts=[(0.5, 1.5)])))     # silent now
    i2c.attach(0x41, RegPart(Faults(dropouts=[(5.0, 6.0)])))     # not yet
    assert i2c.scan() == [0x08, 0x18, 0x41, 0x6A, 0x77]


def test_an_absent_address_raises_enodev_and_a_nack_eio():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart(Faults(nack=True)))
    with pytest.raises(OSError) as exc:
        i2c.readfrom_mem(0x6B, 0x0F, 1)
    assert exc.value.args[0] == errno.ENODEV   # MicroPython: e.args[0]
    with pytest.raises(OSError) as exc:
        i2c.readfrom_mem(0x6A, 0x0F, 1)
    assert exc.value.args[0] == errno.EIO


def test_i2c_transactions_counts_every_addressed_transfer_refused_ones_too():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart())
    assert i2c.transactions == 0
    i2c.readfrom_mem(0x6A, 0, 1)
    i2c.writeto_mem(0x6A, 0, b"\x01")
    with pytest.raises(OSError):
        i2c.readfrom_mem(0x10, 0, 1)
    assert i2c.transactions == 3


def test_an_i2c_bus_without_a_clock_gives_its_parts_time_0():
    i2c = EmuI2C()
    part = RegPart()
    i2c.attach(0x6A, part)
    i2c.readfrom_mem(0x6A, 0, 1)
    assert part.now_s == 0.0


def test_an_i2c_bus_gives_its_parts_the_clock_time():
    i2c = EmuI2C(clock=Clock(2.5))
    part = RegPart()
    i2c.attach(0x6A, part)
    i2c.writeto(0x6A, b"\x05")
    assert part.now_s == 2.5


def test_writeto_sets_the_register_pointer_and_writes_the_rest_from_it():
    i2c = EmuI2C()
    part = RegPart()
    i2c.attach(0x6A, part)
    assert i2c.writeto(0x6A, bytes([0x10, 0xAA, 0xBB])) == 3        # every octet acked
    assert part.regs[0x10:0x12] == bytes([0xAA, 0xBB])
    assert i2c.writeto(0x6A, bytes([0x20])) == 1
    assert part.calls == [("write", 0x10, bytes([0xAA, 0xBB]))]    # a pointer write only


def test_writeto_of_a_pointer_and_one_octet_writes_that_octet():
    i2c = EmuI2C()
    part = RegPart()
    i2c.attach(0x6A, part)
    assert i2c.writeto(0x6A, bytes([0x11, 0x5A])) == 2
    assert part.calls == [("write", 0x11, bytes([0x5A]))] and part.regs[0x11] == 0x5A


def test_readfrom_reads_nbytes_from_the_register_pointer():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart())
    i2c.writeto(0x6A, bytes([0x20]))
    got = i2c.readfrom(0x6A, 3)
    assert isinstance(got, bytes) and got == bytes([0x20, 0x21, 0x22])


def test_a_plain_read_before_any_pointer_write_starts_at_register_0():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart())
    assert i2c.readfrom(0x6A, 2) == bytes([0x00, 0x01])


def test_readfrom_into_fills_the_whole_buffer_counted_in_octets_and_returns_none():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart())
    i2c.writeto(0x6A, bytes([0x10]))
    buf = array("h", [0, 0])
    assert i2c.readfrom_into(0x6A, buf) is None
    assert buf.tobytes() == bytes([0x10, 0x11, 0x12, 0x13])


def test_plain_transfers_use_a_parts_raw_access_when_it_has_one():
    class Raw:
        def __init__(self):
            self.faults = Faults()
            self.got = b""

        def i2c_raw_read(self, n):
            return bytes([0x5A]) * n

        def i2c_raw_write(self, data):
            self.got += data

    i2c = EmuI2C()
    raw = Raw()
    i2c.attach(0x10, raw)
    assert i2c.writeto(0x10, b"\x01\x02") == 2 and raw.got == b"\x01\x02"
    assert i2c.readfrom(0x10, 2) == b"\x5a\x5a"


def test_a_plain_transfer_to_an_absent_address_raises_enodev():
    i2c = EmuI2C()
    for op in (lambda: i2c.readfrom(0x50, 1), lambda: i2c.writeto(0x50, b"\x00")):
        with pytest.raises(OSError) as exc:
            op()
        assert exc.value.args[0] == errno.ENODEV   # MicroPython: e.args[0]


# -- the wire faults ---------------------------------------------------------------------

def test_a_bit_flip_rate_of_1_flips_one_random_bit_of_every_octet():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart(Faults(bitflip_rate=1.0, seed=11)))
    got = i2c.readfrom_mem(0x6A, 0x40, 8)
    rng = random.Random(11)
    want = bytes(b ^ (1 << rng.randrange(8)) for b in range(0x40, 0x48) if rng.random() < 1.0)
    assert got == want


def test_plain_reads_carry_the_bit_flips_too():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart(Faults(bitflip_rate=1.0, seed=5)))
    got = i2c.readfrom(0x6A, 4)
    rng = random.Random(5)
    want = bytes(b ^ (1 << rng.randrange(8)) for b in range(4) if rng.random() < 1.0)
    assert got == want


def test_no_bit_flip_or_nack_rate_draws_nothing_from_the_fault_stream():
    f = Faults(seed=3)
    before = f.rng.getstate()
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart(f))
    i2c.readfrom_mem(0x6A, 0, 4)
    assert f.rng.getstate() == before


def test_a_nack_rate_refuses_each_transfer_on_its_own_uniform_draw():
    i2c = EmuI2C()
    i2c.attach(0x6A, RegPart(Faults(nack_rate=0.5, seed=9)))
    got = []
    for _ in range(20):
        try:
            i2c.readfrom_mem(0x6A, 0, 1)
            got.append(True)
        except OSError:
            got.append(False)
    rng = random.Random(9)
    assert got == [not rng.random() < 0.5 for _ in range(20)]
    assert True in got and False in got


# -- SPI ------------------------------------------------------------------------------------

def _spi(clock=None, faults=None):
    spi = EmuSPI(clock=clock)
    cs = Pin()
    part = RegPart(faults)
    spi.attach(cs, part)
    return spi, cs, part


def test_spi_readinto_clocks_the_write_octet_and_fills_the_buffer():
    spi, cs, part = _spi()
    cs.value(0)
    buf = bytearray(3)
    assert spi.readinto(buf, 0x85) is None
    assert part.calls == [("spi", b"\x85\x85\x85")]
    assert buf == bytes([0x00, 0x05, 0x06])


def test_spi_readinto_and_read_clock_0x00_by_default():
    spi, cs, part = _spi()
    cs.value(0)
    spi.readinto(bytearray(2))
    assert spi.read(2) == bytes([0x00, 0x00])
    assert part.calls == [("spi", b"\x00\x00"), ("spi", b"\x00\x00")]


def test_spi_readinto_counts_an_array_buffer_in_octets():
    spi, cs, part = _spi()
    cs.value(0)
    buf = array("h", [0])
    spi.readinto(buf, 0x81)
    assert part.calls == [("spi", b"\x81\x81")] and buf.tobytes() == bytes([0x00, 0x01])


def test_spi_read_returns_nbytes_clocking_the_write_octet():
    spi, cs, part = _spi()
    cs.value(0)
    assert spi.read(3, 0x82) == bytes([0x00, 0x02, 0x03])
    assert part.calls == [("spi", b"\x82\x82\x82")]


@pytest.mark.parametrize("selected", [0, 2])
def test_spi_with_no_or_two_chip_selects_low_reads_a_floating_bus(selected):
    spi = EmuSPI()
    pins = [Pin(), Pin()]
    parts = [RegPart(), RegPart()]
    for p, d in zip(pins, parts):
        spi.attach(p, d)
    for p in pins[:selected]:
        p.value(0)
    assert spi.read(2, 0x80) == b"\xff\xff"
    assert parts[0].calls == [] and parts[1].calls == []


def test_spi_transactions_counts_every_window_floating_ones_too():
    spi, cs, part = _spi()
    assert spi.transactions == 0
    spi.write(b"\x00")                                   # nobody selected
    cs.value(0)
    spi.write(b"\x00")
    assert spi.transactions == 2


def test_an_spi_bus_without_a_clock_gives_its_parts_time_0():
    spi, cs, part = _spi()
    cs.value(0)
    spi.write(b"\x00")
    assert part.now_s == 0.0


def test_an_spi_dropout_reads_a_floating_bus_inside_its_window_at_the_clock_time():
    clock = Clock(1.0)
    spi, cs, part = _spi(clock, Faults(dropouts=[(0.5, 1.5)]))
    cs.value(0)
    assert spi.read(2, 0x81) == b"\xff\xff"
    clock.now_s = 1.5
    assert spi.read(2, 0x81) == b"\x00\x01" and part.now_s == 1.5


# -- UART --------------------------------------------------------------------------------------

class Talker:
    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.now_s = -1.0
        self.got = b""

    def uart_poll(self, now_s):
        return self.chunks.pop(0) if self.chunks else b""

    def uart_rx(self, data):
        self.got += data


def _uart(chunks, **kw):
    u = EmuUART(**kw)
    t = Talker(chunks)
    u.attach(t)
    return u, t


def test_a_uart_port_runs_at_115200_baud_unless_told_and_init_sets_the_rate():
    assert EmuUART().baudrate == 115200
    u = EmuUART(baudrate=9600)
    assert u.baudrate == 9600
    u.init(57600)
    assert u.baudrate == 57600
    u.init(baudrate=19200)
    assert u.baudrate == 19200


def test_a_uart_without_a_clock_polls_its_part_at_time_0():
    u, t = _uart([b"ab"])
    assert u.any() == 2 and t.now_s == 0.0


def test_a_uart_polls_its_part_at_the_clock_time():
    u, t = _uart([b"ab"], clock=Clock(3.0))
    u.any()
    assert t.now_s == 3.0


def test_the_rx_buffer_holds_512_octets_and_an_overflow_keeps_512_and_is_counted():
    u, _ = _uart([bytes(512), bytes(1), bytes(10)])
    assert u.overruns == 0
    assert u.any() == 512 and u.overruns == 0
    assert u.any() == 512 and u.overruns == 1
    assert u.any() == 512 and u.overruns == 2


def test_uart_read_returns_at_most_nbytes_or_everything_and_none_when_empty():
    u, _ = _uart([b"hello"])
    assert u.read(2) == b"he"
    assert u.read() == b"llo"
    assert u.read() is None and u.read(3) is None


def test_uart_readinto_returns_the_count_or_none_when_nothing_is_there():
    u, _ = _uart([b"xyz"])
    buf = bytearray(8)
    assert u.readinto(buf, 1) == 1 and buf[:1] == b"x"
    assert u.readinto(buf) == 2 and buf[:2] == b"yz"
    assert u.readinto(buf) is None


def test_uart_write_reaches_the_part_and_returns_the_count():
    u, t = _uart([])
    assert u.write(b"abc") == 3 and t.got == b"abc" and u.tx_log == b"abc"
    assert u.txdone() is True
