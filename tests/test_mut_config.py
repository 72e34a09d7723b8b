"""`make mutate`'s groups ([tool.lander.mutate.*] in pyproject.toml) name
modules and tests that exist, and the firmware group's copy lays the package
out so mutmut's mutant names match the `lander.*` imports."""
import os
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mutate  # noqa: E402


def _pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)


def test_mutate_groups_cover_the_three_verdict_trees_and_the_deploys_bundle_pass():
    groups = mutate.groups()
    paths = sorted({p for g in groups.values() for p in g["source_paths"]})
    assert paths == ["firmware/lander/", "host_tools/board/", "host_tools/emu/", "host_tools/sim/"]
    assert groups["board-bundle"]["only_mutate"] == ["host_tools/board/bundle.py"]
    for g in groups.values():              # only_mutate narrows inside the group's tree
        for m in g.get("only_mutate", []):
            assert any(m.startswith(p) for p in g["source_paths"]) and os.path.isfile(os.path.join(ROOT, m))


def test_mutate_groups_name_existing_test_files():
    for name, g in mutate.groups().items():
        assert g["tests"], name
        for t in g["tests"]:
            assert os.path.isfile(os.path.join(ROOT, t)), (name, t)


def test_mutate_section_is_scoped_to_the_group():
    g = mutate.groups()["emu"]
    text = mutate._mutmut_section(g, firmware=False)
    cfg = tomllib.loads(text)["tool"]["mutmut"]
    assert cfg["source_paths"] == ["host_tools/emu/"]
    assert cfg["pytest_add_cli_args_test_selection"] == g["tests"]
    fw = tomllib.loads(mutate._mutmut_section(mutate.groups()["fw-fixed"], firmware=True))
    assert not any(p.startswith("firmware") for p in fw["tool"]["mutmut"]["also_copy"])


def test_mutmut_is_not_a_test_dependency():
    deps = _pyproject()["project"]["optional-dependencies"]
    assert not any(d.startswith("mutmut") for d in deps["dev"])
    assert any(d.startswith("mutmut") for d in deps["mutate"])
