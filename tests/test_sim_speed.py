"""The simulator-speed figure of `lander perf`: simulated seconds per wall
second and per CPU second of the process (the second does not drop when
other jobs share the cores)."""
from types import SimpleNamespace

from host_tools.sim import runner, speed


def test_speed_divides_simulated_time_by_wall_and_by_cpu_time(monkeypatch):
    walls = iter([100.0, 102.0])           # 2 s by the wall clock
    cpus = iter([5.0, 5.5])                # 0.5 s of this process's CPU
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(walls))
    monkeypatch.setattr(speed.time, "process_time", lambda: next(cpus))
    monkeypatch.setattr(runner, "fly", lambda sc, **kw: SimpleNamespace(
        summary={"time_s": 30.0, "outcome": "timeout"}))
    got = speed.measure_one({"rate_hz": 50}, 30.0, "firmware")
    assert (got["sim_s"], got["wall_s"], got["cpu_s"]) == (30.0, 2.0, 0.5)
    assert got["realtime_x"] == 15.0 and got["realtime_x_cpu"] == 60.0
