"""`make mutate`: mutmut, one module group at a time, each against the tests
that exercise it (the groups are [tool.lander.mutate.<group>] in
pyproject.toml; mutmut's own settings are [tool.mutmut]).

    python tools/mutate.py GROUP [MUTANT_GLOB ...] [--fresh]
    python tools/mutate.py report [GROUP ...]

Each group runs in its own copy of the repository, build/mutate/<group>/, with
[tool.mutmut] narrowed to the group's modules and tests, so its results
(build/mutate/<group>/mutants/) survive the other groups' runs and a second
run continues where the first stopped. `--fresh` forgets earlier results for
the mutants selected (after tests were added: survivors are checked again).

The firmware group: the tests import the firmware as `lander.*` (host_tools
puts firmware/ on sys.path), while mutmut names mutants after their path. In
the group's copy the package is therefore laid out as src/lander (mutmut drops
a leading `src.`) and firmware/lander is a link to it, so the names agree and
the tests import the mutated code.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mutate_report  # noqa: E402


def groups() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)["tool"]["lander"]["mutate"]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if f and os.path.isfile(os.path.join(ROOT, f))]


def _mutmut_section(group: dict, firmware: bool) -> str:
    base = dict(_base_config())
    base["source_paths"] = group["source_paths"]
    base["pytest_add_cli_args_test_selection"] = group["tests"]
    if group.get("only_mutate"):
        base["only_mutate"] = group["only_mutate"]
    for test in group.get("deselect", []):   # slow checks of other interpreters
        base["pytest_add_cli_args"] = base["pytest_add_cli_args"] + ["--deselect", test]
    if firmware:
        base["also_copy"] = [p for p in base["also_copy"] if not p.startswith("firmware")]
    lines = ["[tool.mutmut]"]
    for key, value in base.items():
        lines.append("%s = %s" % (key, _toml(value)))
    return "\n".join(lines) + "\n"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def _base_config() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)["tool"]["mutmut"]


def prepare(name: str) -> str:
    """Copy the repository into build/mutate/<name>/ (its mutants/ kept) with
    [tool.mutmut] scoped to the group; return the copy's path."""
    group = groups()[name]
    firmware = any(p.startswith("firmware/") for p in group["source_paths"])
    work = os.path.join(ROOT, "build", "mutate", name)
    os.makedirs(work, exist_ok=True)
    for rel in _tracked_files():
        dst_rel = rel
        if firmware and rel.startswith("firmware/lander/"):
            dst_rel = "src/lander/" + rel[len("firmware/lander/"):]
        dst = os.path.join(work, dst_rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = os.path.join(ROOT, rel)
        if not os.path.exists(dst) or os.path.getmtime(dst) != os.path.getmtime(src):
            shutil.copy2(src, dst)
    if firmware:
        def moved(p):
            return "src/lander/" + p[len("firmware/lander/"):] if p.startswith("firmware/lander/") else p
        group = dict(group, source_paths=[moved(p) for p in group["source_paths"]],
                     only_mutate=[moved(p) for p in group.get("only_mutate", [])])
        for base in (work, os.path.join(work, "mutants")):
            os.makedirs(os.path.join(base, "firmware"), exist_ok=True)
            link = os.path.join(base, "firmware", "lander")
            if not os.path.islink(link):
                os.symlink(os.path.join("..", "src", "lander"), link)
        for rel in _tracked_files():  # firmware/ outside the package (main.py, ...)
            if rel.startswith("firmware/") and not rel.startswith("firmware/lander/"):
                dst = os.path.join(work, "mutants", rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, rel), dst)
    pyproject = os.path.join(work, "pyproject.toml")
    with open(os.path.join(ROOT, "pyproject.toml")) as fh:
        text = fh.read()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    with open(pyproject, "w") as fh:
        fh.write(text.rstrip() + "\n\n" + _mutmut_section(group, firmware))
    return work


def forget(work: str, patterns: list[str]) -> None:
    """Drop earlier results of the mutants matching `patterns` (all if none),
    and mutmut's map of which test reaches which function (tests changed)."""
    import fnmatch
    import json
    stats = os.path.join(work, "mutants", "mutmut-stats.json")
    if os.path.exists(stats):
        os.remove(stats)
    for meta in glob.glob(os.path.join(work, "mutants", "**", "*.py.meta"), recursive=True):
        with open(meta) as fh:
            data = json.load(fh)
        codes = data.get("exit_code_by_key", {})
        for key in codes:
            if not patterns or any(fnmatch.fnmatch(key, p) for p in patterns):
                codes[key] = None
        with open(meta, "w") as fh:
            json.dump(data, fh)


def run(name: str, patterns: list[str], fresh: bool) -> int:
    work = prepare(name)
    if fresh:
        forget(work, patterns)
    env = dict(os.environ, LANDER_INTERP="cpython")
    env.pop("PYTHONPATH", None)  # the tests must import the mutated copy
    mutmut = os.path.join(os.path.dirname(sys.executable), "mutmut")
    # The machine is shared: at most MUTATE_JOBS (default 2) mutants at a time.
    jobs = max(1, int(os.environ.get("MUTATE_JOBS", "2")))
    subprocess.run([mutmut, "run", "--max-children", str(jobs), *patterns], cwd=work, env=env)
    return report([name])


def report(names: list[str]) -> int:
    for name in names or list(groups()):
        mutants = os.path.join(ROOT, "build", "mutate", name, "mutants")
        if not os.path.isdir(mutants):
            print("%s: not run (make mutate GROUP=%s)" % (name, name))
            continue
        print("== %s (%s)" % (name, os.path.relpath(mutants, ROOT)))
        mutate_report.main([mutants])
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(__doc__.strip())
        return 2
    fresh = "--fresh" in argv
    argv = [a for a in argv if a != "--fresh"]
    name, patterns = argv[0], argv[1:]
    if name == "report":
        return report(patterns)
    if name not in groups():
        print("mutate: unknown group %r (one of: %s)" % (name, ", ".join(groups())))
        return 2
    return run(name, patterns, fresh)


if __name__ == "__main__":
    sys.exit(main())
