#!/usr/bin/env bash
# The simulator's cost as instructions per simulated second, independent of the
# machine's load: cachegrind counts the instructions of a 1 s and a 21 s nominal
# flight (firmware in the loop, no trace kept) and prints the difference / 20.
# Compares code, not machines (the wall-clock figure is `lander perf`'s
# sim_speed_x_realtime). Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "sim_instructions: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for t in 1 21; do
  env -u PYTHONPATH valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/cg.$t" \
    .venv/bin/python -c "
import sys, os
sys.path.insert(0, os.getcwd())
from host_tools.sim import scenario, runner
runner.fly(scenario.load('scenarios/nominal.toml'), controller='firmware', record=False, max_time_s=$t.0)
" 2>&1 | awk '/I *refs/ {gsub(",", "", $4); print $4}' > "$out/ir.$t"
done
python3 -c "import sys; a, b = (int(open(sys.argv[i]).read()) for i in (1, 2)); print('%.2f M instructions per simulated second' % ((b - a) / 20 / 1e6))" "$out/ir.1" "$out/ir.21"
