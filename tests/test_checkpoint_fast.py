"""The checkpoint seal's cheaper path: the payload copied as the words' own
octets and the CRC-16/CCITT-FALSE taken four octets at a time (slicing by 4)
give the very record of the octet-wise definition: checked against
binascii.crc_hqx (an independent CRC-16/CCITT) for any words, and the sealed
image bit-identical on the three interpreters (allocation-free on the 32-bit
one)."""
import binascii
import struct

from hypothesis import given, strategies as st

from lander import checkpoint as ck

WORD = st.integers(min_value=-(2 ** 30) + 1, max_value=2 ** 30 - 1)


@given(st.lists(WORD, min_size=0, max_size=64), st.integers(0, 0xFFFF))
def test_crc_of_words_is_the_octet_wise_crc16(words, init):
    from array import array
    a = array("i", words)
    raw = struct.pack("<%di" % len(words), *words)
    assert ck.crc16_span(a, 0, len(words), init) == binascii.crc_hqx(raw, init)


@given(st.lists(WORD, min_size=1, max_size=48), st.integers(0, 2 ** 30 - 2))
def test_a_sealed_record_is_header_words_and_their_crc16(words, seq0):
    c = ck.Checkpoint(len(words))
    c.seq = seq0
    for i, v in enumerate(words):
        c.words[i] = v
    k = c.seal()
    rec = bytes(c.slots[k])
    n = len(words)
    body = struct.pack("<3i%di" % n, 0x4B43 | (1 << 16), seq0 + 1, n, *words)
    assert rec == body + struct.pack("<i", binascii.crc_hqx(body, 0xFFFF))
    out = [0] * n
    assert ck.best(bytes(c.image), n, out) == seq0 + 1 and out == words


def test_the_tables_are_the_crc_of_an_octet_followed_by_zero_octets():
    for x in (0, 1, 0x80, 0xFF, 0x5A):
        assert ck._T1[x] == binascii.crc_hqx(bytes([x, 0]), 0)
        assert ck._T2[x] == binascii.crc_hqx(bytes([x, 0, 0]), 0)
        assert ck._T3[x] == binascii.crc_hqx(bytes([x, 0, 0, 0]), 0)


SEAL = """
from lander.compat import heap_lock, heap_unlock
from lander.checkpoint import Checkpoint
c = Checkpoint(40)
for i in range(40):
    c.words[i] = (i * 26544357) % 2000000000 - 1000000000
heap_lock()
for r in range(3):
    c.words[r] = -r * 77
    c.seal()
heap_unlock()
s = 0
for b in c.image:
    s = (s * 31 + b) % 1000000007
print(c.seq, c.last, s)
"""


def test_the_seal_is_bit_identical_and_allocation_free_on_every_interpreter(interp, run_fw):
    ref = run_fw("cpython", SEAL).lines()[-1]
    assert run_fw(interp, SEAL).lines()[-1] == ref
    seq, last, _ = ref.split()
    assert (seq, last) == ("3", "1")
