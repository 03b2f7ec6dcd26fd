"""The pytest plugin ``racesim.testing``, used the way a shop's suite uses it.

pytest runs test files written into a folder outside the package: the README's example
(which must pass), and a check-then-act engine and the naive counter (which must fail
with the seed, the non-linearizable timeline or the shrunk trace, and commands that
reproduce the failure — which are then run). Importing the plugin must stay cheap, since
pytest imports it in every run where racesim is installed, and the installed
distribution must register it through its ``pytest11`` entry point.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import racesim.testing
from racesim.chaos.engines import EngineSpec
from racesim.cli.main import main
from racesim.testing import assert_engine_survives, check_engine, plugin, survival
from racesim.testing.factory import engine_argument, engine_spec

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[1]
RACY_FILE = Path(__file__).with_name("racy_engine.py")
HEAVY = ("numpy", "pandas", "simpy", "scipy", "matplotlib")
PLUGIN = ("-p", "racesim.testing",
          # this process imported the plugin already; a user's pytest imports it first
          "-W", "ignore::pytest.PytestAssertRewriteWarning")


def readme_example() -> str:
    """The README's complete example test file (the block that starts with its name)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(# test_stock_engine\.py.*?)```", readme, re.S)
    assert found, "README has no test_stock_engine.py example"
    return found.group(1)


def test_importing_the_plugin_loads_no_heavy_library() -> None:
    code = textwrap.dedent(f"""
        import sys
        import racesim.testing, racesim.testing.plugin
        heavy = [name for name in {HEAVY!r} if name in sys.modules]
        assert not heavy, heavy
        assert "racesim.chaos" not in sys.modules and "racesim.ledger" not in sys.modules
        from racesim import Ledger, __version__  # the package's names load on first use
        import racesim, racesim.ledger
        assert Ledger is racesim.ledger.Ledger and "Ledger" in dir(racesim) and __version__
        assert not [name for name in {HEAVY!r} if name in sys.modules]
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_package_itself_is_the_plugin_and_the_api() -> None:
    """``-p racesim.testing`` and the entry point load the package, so it holds the hooks
    and the fixture. (Reloaded: an installed plugin is imported before coverage starts.)"""
    package = importlib.reload(racesim.testing)
    assert package.pytest_addoption is plugin.pytest_addoption
    assert package.racesim_chaos is plugin.racesim_chaos
    assert package.assert_engine_survives is survival.assert_engine_survives
    assert sorted(package.__all__) == ["ChaosHarness", "Survival", "assert_engine_survives",
                                       "check_engine", "pytest_addoption", "racesim_chaos"]


def test_the_readme_example_passes_in_a_folder_outside_the_package(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(pytester.path))  # the plain function's files
    pytester.makepyfile(test_stock_engine=readme_example())
    result = pytester.runpytest(*PLUGIN, "--racesim-seeds", "2")
    result.assert_outcomes(passed=4)


def test_a_check_then_act_engine_fails_with_its_timeline_and_the_counter_with_its_trace(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(pytester.path))  # the plain function's files
    pytester.makepyfile(shop_engine=RACY_FILE.read_text(encoding="utf-8"))
    pytester.makepyfile(test_shop="""
        from racesim.testing import assert_engine_survives
        from shop_engine import racy_ledger

        def test_handlers_at_once(racesim_chaos):
            racesim_chaos.survives(racy_ledger, seeds=20, concurrency=8)

        def test_one_at_a_time():
            assert_engine_survives(racy_ledger, seeds=3, concurrency=1)

        def test_the_naive_counter():
            assert_engine_survives("naive_counter", seeds=10, concurrency=1)
    """)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1, failed=2)  # the racy engine is sound one at a time
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "E * python shop_engine.py:racy_ledger is not linearizable: seed * SKU(s) *: no "
        "order of these * operations respects real time *",
        "E * worker  operation * answer *|0 s *|",
        "E * check the history again (the same verdict every time): racesim chaos --check "
        "*history-s*.jsonl",
        "E * run the seed 20 times *: racesim chaos --engine python:shop_engine.py:racy_ledger "
        "--concurrency 8 --replay * --repeat 20",
        "E * naive_counter broke an invariant on * of 10 seed(s) *",
        "E * first failing seed *: * at step *",
        "E * shortened trace: * deliveries break the same invariant, step by step *",
        "E * step * delivery * expected * answer *",
        "E * reproduce: racesim chaos --engine naive_counter --replay *",
    ])
    history = re.search(r"racesim chaos --check (\S+history-s\d+\.jsonl)", out)
    assert history and Path(history.group(1)).is_file()
    assert main(["chaos", "--check", history.group(1)]) == 1  # the saved history fails again
    traces = re.search(r"written to (\S+)/: seed-\d+\.short\.jsonl", out)
    assert traces and Path(traces.group(1)).is_relative_to(pytester.path)
    seed = re.search(r"--engine naive_counter --replay (\d+)", out)
    assert seed and main(["chaos", "--engine", "naive_counter", "--replay", seed.group(1)]) == 1


def test_the_options_set_the_seeds_and_workers_of_fixture_checks(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_options="""
        def test_counts(racesim_chaos):
            assert racesim_chaos.check("ledger", seeds=50, concurrency=1).seeds == (0, 1)
            listed = racesim_chaos.check("ledger", seeds=[7, 9, 11], concurrency=1)
            assert listed.seeds == (7, 8)
            assert racesim_chaos.check("ledger", seeds=1).concurrency == 1
    """)
    result = pytester.runpytest(*PLUGIN, "--racesim-seeds", "2",
                                "--racesim-concurrency", "1")
    result.assert_outcomes(passed=1)
    refused = pytester.runpytest(*PLUGIN, "--racesim-seeds", "0")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*--racesim-seeds*must be 1 to*(got 0)*"])


def test_the_installed_distribution_registers_the_plugin(tmp_path: Path) -> None:
    """Without ``-p``: pytest finds the plugin through the installed entry point."""
    advertised = [ep for ep in entry_points(group="pytest11") if ep.name == "racesim.testing"]
    if not advertised:
        pytest.skip("the installed racesim distribution does not advertise the pytest11 "
                    "entry point racesim.testing (install this checkout: pip install -e .)")
    assert advertised[0].value == "racesim.testing"
    (tmp_path / "test_outside.py").write_text(textwrap.dedent("""
        def test_the_fixture_is_there(racesim_chaos):
            assert racesim_chaos.check("ledger", seeds=2, concurrency=1).passed
    """), encoding="utf-8")
    env = {name: value for name, value in os.environ.items()
           if name != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    others = [arg for name in ("cacheprovider", "xdist", "pytest_cov", "hypothesispytest")
              for arg in ("-p", f"no:{name}")]  # not needed here: a faster start
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", *others, "test_outside.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def make_racy(run_id: str) -> object:
    """A module-level factory: named by its file in the reproducing command."""
    from racy_engine import racy_ledger
    return racy_ledger(run_id)


def test_a_factory_is_named_by_its_file_and_a_closure_is_not() -> None:
    spec = engine_spec(make_racy)
    assert spec.target.endswith("tests/test_testing_plugin.py:make_racy")
    assert engine_argument(spec) == ["--engine", f"python:{spec.target}"]
    closure = engine_spec(lambda run_id: make_racy(run_id))
    assert closure.target == "" and engine_argument(closure) is None
    assert "<lambda>" in closure.label
    sqlite = engine_spec("ledger", store="sqlite:///x y.db")
    assert engine_argument(sqlite) == ["--engine", "ledger", "--store", "sqlite:///x y.db"]
    assert engine_spec(EngineSpec("naive_counter")) == EngineSpec("naive_counter")


def test_a_closure_that_fails_leaves_its_history_in_the_folder(tmp_path: Path) -> None:
    survival = check_engine(lambda run_id: make_racy(run_id), seeds=20, concurrency=8,
                            out=tmp_path / "out")
    assert not survival.passed and survival.verdict == "not linearizable"
    assert survival.failed_seed == survival.seeds[-1]
    assert "the factory is a closure or a lambda" in survival.message
    assert all(path.is_file() and path.parent == tmp_path / "out" for path in survival.files)
    assert {p.name for p in survival.files} >= {f"history-s{survival.failed_seed}.jsonl",
                                                "concurrent.json"}


def test_a_passing_engine_writes_nothing_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    survival = assert_engine_survives("ledger", seeds=range(3, 5), concurrency=1,
                                      out=tmp_path / "out")
    assert survival.passed and survival.seeds == (3, 4) and survival.files == ()
    assert survival.message == ("ledger on memory://: every invariant held on 2 seed(s) "
                                "(swarm v2, one delivery at a time)")
    assert not (tmp_path / "out").exists()
    for bad, match in (({"concurrency": 0}, "concurrency must be 1 to 64"),
                       ({"seeds": 0}, "seeds must be at least 1"),
                       ({"seeds": [-1]}, "seeds must list whole numbers"),
                       ({"max_states": 0}, "max_states must be")):
        with pytest.raises(ValueError, match=match):
            check_engine("ledger", **bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="factory must be a spec string"):
        check_engine(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="store and token go with an engine spec string"):
        check_engine(make_racy, store="memory://")


def test_a_history_too_large_to_decide_is_never_a_pass(tmp_path: Path) -> None:
    survival = check_engine("ledger", seeds=1, concurrency=8, max_states=1, out=tmp_path)
    assert not survival.passed and survival.verdict == "undecided"
    assert "could not be decided" in survival.message
    history = tmp_path / "history-s0.jsonl"
    assert f"racesim chaos --check {history} --max-states 1" in survival.message
    assert main(["chaos", "--check", str(history), "--max-states", "1"]) == 4  # undecided
    assert main(["chaos", "--check", str(history)]) == 0  # the ledger's history is sound


def test_a_broken_final_state_fails_with_the_invariant_and_the_commands(tmp_path: Path) -> None:
    """An engine whose answers all linearize but whose state at rest contradicts itself
    (its own ``verify()`` complains) fails the check with that invariant named."""
    from concurrent_mutants import ComplainsAtRest

    survival = check_engine(ComplainsAtRest, seeds=3, concurrency=4, out=tmp_path)
    assert not survival.passed and survival.failed_seed == 0
    assert survival.verdict == "final state: projection_replay"
    first = survival.message.splitlines()[0]
    assert "left a broken final state: seed 0" in first
    assert "projection_replay" in first and "(the history itself linearized)" in first
    assert "--replay 0 --repeat 20" in survival.message
    assert (tmp_path / "history-s0.jsonl").is_file()
    with pytest.raises(AssertionError, match="left a broken final state"):
        assert_engine_survives(ComplainsAtRest, seeds=3, concurrency=4, out=tmp_path / "again")
