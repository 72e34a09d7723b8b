# A receive window for framed UART protocols (the laser altimeter, TF-Luna):
# bytes are read straight into the buffer after the unparsed tail, the driver
# parses frames from the front, then consume() keeps what it could not parse.
# One memoryview per fill level is made at start-up: slicing on the cycle
# path would allocate.


class RxWindow:
    def __init__(self, size, chunk):
        self.size = size
        self.chunk = chunk          # most bytes taken from the UART per fill
        self.buf = bytearray(size)
        mv = memoryview(self.buf)
        # one view per start offset (a list of its exact size, filled in a loop)
        tails = [None] * size  # type: list
        for i in range(size):
            tails[i] = mv[i:]
        self._tails = tails
        self.n = 0                  # bytes held, from buf[0]

    def fill(self, uart):
        """Read what the UART holds (at most `chunk`, never past the end).
        Returns False on a bus error (the window is unchanged)."""
        n = self.n
        space = self.size - n
        if space > self.chunk:
            space = self.chunk
        if space <= 0:
            return True
        try:
            got = uart.readinto(self._tails[n], space)
        except OSError:
            return False
        if got:
            self.n = n + got
        return True

    def consume(self, s):
        """Drop the first s bytes; the rest moves to the front."""
        if s <= 0:
            return
        buf = self.buf
        j = 0
        for i in range(s, self.n):
            buf[j] = buf[i]
            j += 1
        self.n = j

    def clear(self):
        self.n = 0
