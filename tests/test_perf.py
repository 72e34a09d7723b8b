"""The fuel meter measures firmware code on the 32-bit interpreter."""
from host_tools import perf


def test_fuel_of_a_named_firmware_function_is_positive_and_repeatable():
    setup, expr = perf.named_function_expr("lander.fixed:mul_shift", ["123456789", "-98765432", "30"])
    first = perf.fuel_per_call(setup, expr, repeat=50)
    second = perf.fuel_per_call(setup, expr, repeat=50)
    assert first == second  # wasmtime fuel is deterministic
    assert first > 0


def test_fuel_meter_orders_a_wide_product_above_the_fast_path():
    setup, fast = perf.named_function_expr("lander.fixed:mul_shift", ["123", "456", "3"])
    _, wide = perf.named_function_expr("lander.fixed:mul_shift", ["123456789", "-98765432", "30"])
    assert perf.fuel_per_call(setup, wide, repeat=50) > perf.fuel_per_call(setup, fast, repeat=50)
