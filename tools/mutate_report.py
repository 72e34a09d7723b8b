"""Summarise a `mutmut run` (make mutate): per module, killed / survived /
timeout / no tests / not checked, and the surviving share of the mutants that
were checked. Reads mutmut's own result files (mutants/**/*.py.meta).

    python tools/mutate_report.py [--json] [MUTANTS_DIR]
"""
from __future__ import annotations

import json
import os
import sys

# mutmut's exit-code convention (mutmut/stats.py)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no_tests", 33: "no_tests", 34: "skipped",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          37: "killed", None: "not_checked"}
KEYS = ("killed", "survived", "timeout", "no_tests", "skipped", "suspicious", "not_checked")


def summarise(mutants_dir="mutants"):
    per = {}
    metas = []
    for root, _dirs, files in os.walk(mutants_dir):      # links not followed (firmware/lander)
        metas += [os.path.join(root, f) for f in files if f.endswith(".py.meta")]
    for meta in sorted(metas):
        module = os.path.relpath(meta, mutants_dir)[:-len(".meta")]
        if module.startswith("src" + os.sep + "lander"):  # the firmware group's layout
            module = "firmware" + module[len("src"):]
        with open(meta) as fh:
            codes = json.load(fh).get("exit_code_by_key", {})
        counts = dict.fromkeys(KEYS, 0)
        for code in codes.values():
            counts[STATUS.get(code, "suspicious")] += 1
        if sum(counts.values()):
            per[module] = counts
    total = dict.fromkeys(KEYS, 0)
    for counts in per.values():
        for k in KEYS:
            total[k] += counts[k]
    return per, total


def surviving_share(c):
    """Survived / (killed + survived + timeout): of the mutants a test ran
    against, the share no test caught (a timeout counts as caught)."""
    checked = c["killed"] + c["survived"] + c["timeout"]
    return c["survived"] / checked if checked else None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    per, total = summarise(argv[0] if argv else "mutants")
    if as_json:
        print(json.dumps({"modules": per, "total": total, "surviving_share": surviving_share(total)}))
        return 0
    print("%-40s %7s %8s %7s %8s %11s %9s" % ("module", "killed", "survived", "timeout", "no tests",
                                              "not checked", "survived%"))
    for module, c in list(per.items()) + [("TOTAL", total)]:
        share = surviving_share(c)
        print("%-40s %7d %8d %7d %8d %11d %9s" % (module, c["killed"], c["survived"], c["timeout"],
                                                  c["no_tests"], c["not_checked"],
                                                  "-" if share is None else "%.1f" % (100 * share)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
