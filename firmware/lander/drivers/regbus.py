# Register access shared by the I2C/SPI parts (LSM6DSOX, BMI088): one call
# reads a burst of registers or writes one, over I2C when cs is None and over
# 4-wire SPI otherwise (read bit 0x80 on the address byte; the SPI receive
# buffer then starts with the address-phase byte(s), which callers skip).
# Raises OSError from the bus; allocates nothing.
from lander.compat import const

_SPI_READ = const(0x80)
_SPI_WRITE_MASK = const(0x7F)


def read_regs(bus, addr, cs, reg, tx, rx):
    """Registers from `reg` into rx. SPI clocks len(tx) == len(rx) bytes."""
    if cs is None:
        bus.readfrom_mem_into(addr, reg, rx)
        return
    tx[0] = reg | _SPI_READ
    cs.value(0)
    try:
        bus.write_readinto(tx, rx)
    finally:
        cs.value(1)


def write_reg(bus, addr, cs, reg, value, w1, w2):
    """One register. w1 (1 byte, I2C payload) and w2 (2 bytes, SPI frame)
    are the caller's preallocated buffers."""
    if cs is None:
        w1[0] = value
        bus.writeto_mem(addr, reg, w1)
        return
    w2[0] = reg & _SPI_WRITE_MASK
    w2[1] = value
    cs.value(0)
    try:
        bus.write(w2)
    finally:
        cs.value(1)
