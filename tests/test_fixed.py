"""fixed.py: exact against rational arithmetic on CPython, bit-identical on
CPython, 64-bit MicroPython and 32-bit MicroPython (WASI), allocation-free
under heap_lock on the 32-bit interpreter."""
import math
from array import array
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lander.fixed as fx
from host_tools import rangecheck

LIM = (1 << 30) - 1
val = st.integers(-LIM, LIM)
# bias toward every magnitude, not only the big ones
small_or_big = st.one_of(val, st.integers(-LIM, LIM).map(lambda v: v >> 15),
                         st.integers(-40000, 40000), st.sampled_from([0, 1, -1, LIM, -LIM, 32767, -32768, 32768]))


def sat(v):
    return max(-LIM, min(LIM, v))


@given(small_or_big, small_or_big, st.integers(0, 45))
def test_mul_shift_is_the_exact_floor_saturated(a, b, s):
    assert fx.mul_shift(a, b, s) == sat(math.floor(Fraction(a * b, 1 << s)))


@given(small_or_big, small_or_big.filter(lambda v: v != 0), st.integers(0, 30))
def test_div_shift_is_the_exact_floor_saturated(a, b, s):
    assert fx.div_shift(a, b, s) == sat(math.floor(Fraction(a << s, b)))


def test_div_shift_by_zero_saturates_toward_the_sign():
    assert fx.div_shift(5, 0, 3) == LIM
    assert fx.div_shift(-5, 0, 3) == -LIM


@given(val, val)
def test_add_and_sub_saturate(a, b):
    assert fx.add_sat(a, b) == sat(a + b)
    assert fx.sub_sat(a, b) == sat(a - b)


@given(st.integers(0, LIM))
def test_isqrt_is_the_floor_square_root(n):
    assert fx.isqrt(n) == math.isqrt(n)


@given(st.integers(-(1 << 20), 1 << 20))
def test_sin_and_cos_within_one_lsb_of_exact(angle):
    exact_sin = math.sin(2 * math.pi * angle / 65536) * 32768
    exact_cos = math.cos(2 * math.pi * angle / 65536) * 32768
    assert abs(fx.sin_q15(angle) - exact_sin) < 1.0
    assert abs(fx.cos_q15(angle) - exact_cos) < 1.0


def test_sin_over_every_angle_within_one_lsb():
    worst = max(abs(fx.sin_q15(a) - math.sin(2 * math.pi * a / 65536) * 32768) for a in range(65536))
    assert worst < 1.0


@given(small_or_big, small_or_big)
def test_atan2_within_one_lsb_of_exact(y, x):
    if x == 0 and y == 0:
        assert fx.atan2(0, 0) == 0
        return
    exact = math.atan2(y, x) * 65536 / (2 * math.pi)
    assert abs(fx.atan2(y, x) - exact) < 1.0


@given(val, val)
def test_hypot_within_one_part_in_ten_thousand(a, b):
    exact = min(math.hypot(a, b), LIM)
    assert abs(fx.hypot(a, b) - exact) <= max(1.0, exact * 2e-4)


def test_fixed_py_has_no_float_literal_or_float_call():
    import ast
    tree = ast.parse(open(fx.__file__).read())
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), node.lineno
        assert not (isinstance(node, ast.Name) and node.id == "float"), node.lineno
        assert not isinstance(node, ast.Div), "true division at line %d" % node.lineno


# --- checking mode ---------------------------------------------------------

def test_checking_mode_is_active_for_firmware_under_test():
    assert rangecheck.enabled()
    assert "__lander_range_check__" in vars(fx)


def test_checking_mode_rejects_a_naive_wide_product():
    code = rangecheck.compile_checked("def naive(a, b, s):\n    return (a * b) >> s\n", "naive.py")
    ns = rangecheck.checked_namespace()
    exec(code, ns)
    with pytest.raises(rangecheck.RangeError, match="naive.py:2"):
        ns["naive"](1 << 29, 1 << 29, 30)


def test_checking_mode_passes_fixed_extremes():
    for a in (LIM, -LIM):
        for b in (LIM, -LIM):
            for s in (0, 15, 30, 45):
                fx.mul_shift(a, b, s)
            fx.div_shift(a, b, 30)
    fx.atan2(LIM, -LIM)


# --- the three interpreters --------------------------------------------------

# Guest program: reads the vectors from DATA_DIR, writes one result per line.
REPLAY = """
from array import array
import lander.fixed as fx
def load(name):
    f = open(DATA_DIR + '/' + name, 'rb')
    raw = f.read()
    f.close()
    a = array('i', raw)
    return a
v = load('vectors.bin')
n = len(v) // 3
out = []
for i in range(n):
    a = v[3 * i]; b = v[3 * i + 1]; s = v[3 * i + 2]
    r1 = fx.mul_shift(a, b, s % 46)
    r2 = fx.div_shift(a, b, s % 31) if b != 0 else 0
    r3 = fx.add_sat(a, b) ^ fx.sub_sat(a, b)
    r4 = fx.isqrt(a if a >= 0 else -a)
    r5 = fx.sin_q15(a) - 3 * fx.cos_q15(b)
    r6 = fx.atan2(a, b)
    r8 = fx.hypot(a, b)
    print(r1, r2, r3, r4, r5, r6, r8)
"""


def _collect_vectors(count=3000):
    vectors = []

    @settings(max_examples=count, database=None)
    @given(small_or_big, small_or_big, st.integers(0, 45))
    def collect(a, b, s):
        vectors.append((a, b, s))

    collect()
    # the corners hypothesis may not hit
    corners = [LIM, -LIM, 0, 1, -1, 32767, 32768, -32768, 1 << 29, -(1 << 29)]
    vectors += [(a, b, s) for a in corners for b in corners for s in (0, 15, 30)]
    return vectors


@pytest.fixture(scope="module")
def fixed_vectors():
    vecs = _collect_vectors()
    blob = array("i", [x for v in vecs for x in v]).tobytes()
    return vecs, blob


def _expected_lines(vecs):
    lines = []
    for a, b, s in vecs:
        r1 = fx.mul_shift(a, b, s % 46)
        r2 = fx.div_shift(a, b, s % 31) if b != 0 else 0
        r3 = fx.add_sat(a, b) ^ fx.sub_sat(a, b)
        r4 = fx.isqrt(abs(a))
        r5 = fx.sin_q15(a) - 3 * fx.cos_q15(b)
        r6 = fx.atan2(a, b)
        r8 = fx.hypot(a, b)
        lines.append(" ".join(str(x) for x in (r1, r2, r3, r4, r5, r6, r8)))
    return lines


def test_fixed_is_bit_identical_on_every_interpreter(interp, run_fw, fixed_vectors):
    vecs, blob = fixed_vectors
    assert len(vecs) >= 3000
    result = run_fw(interp, REPLAY, data={"vectors.bin": blob})
    assert result.lines() == _expected_lines(vecs)


HEAP_LOCKED = """
from array import array
import micropython
import lander.fixed as fx
f = open(DATA_DIR + '/vectors.bin', 'rb')
v = array('i', f.read())
f.close()
acc = array('i', [0])

def workload(v, acc):
    # locals only: a new global name would grow the module dict (an allocation)
    for i in range(len(v) // 3):
        a = v[3 * i]
        b = v[3 * i + 1]
        s = v[3 * i + 2]
        x = fx.mul_shift(a, b, s % 46) ^ fx.add_sat(a, b) ^ fx.sub_sat(a, b)
        if b != 0:
            x ^= fx.div_shift(a, b, s % 31)
        x ^= fx.isqrt(a if a >= 0 else -a) ^ fx.sin_q15(a) ^ fx.cos_q15(b) ^ fx.atan2(a, b)
        x ^= fx.hypot(a, b) ^ fx.clamp(a, -5, 5)
        acc[0] ^= x

micropython.heap_lock()
try:
    workload(v, acc)
finally:
    micropython.heap_unlock()
n = len(v) // 3
print('ok', acc[0], n)
"""


def test_fixed_workload_allocates_nothing_under_heap_lock_on_32bit(run_fw, fixed_vectors):
    _, blob = fixed_vectors
    result = run_fw("wasm", HEAP_LOCKED, data={"vectors.bin": blob})
    assert result.lines()[-1].startswith("ok ")


def test_heap_lock_check_can_fail_when_code_allocates(run_fw):
    # The same harness must see an allocation: a tuple built from variables.
    code = ("import micropython\nx = 3\nmicropython.heap_lock()\ntry:\n"
            "    t = (x, x + 1)\nfinally:\n    micropython.heap_unlock()\n")
    with pytest.raises(AssertionError, match="MemoryError"):
        run_fw("wasm", code)


def test_32bit_guest_promotes_beyond_2_30_to_long_ints(run_fw):
    # The reason for the range rule: on the 32-bit guest 2^30 is no small int.
    code = ("import micropython\nx = 1 << 29\nmicropython.heap_lock()\ntry:\n"
            "    y = x + x\nfinally:\n    micropython.heap_unlock()\n")
    with pytest.raises(AssertionError, match="MemoryError"):
        run_fw("wasm", code)
