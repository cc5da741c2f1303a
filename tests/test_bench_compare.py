"""scripts/bench_sim.py --compare: argument checks, the temporary worktree's cleanup, one child
run. No timing is asserted (the machine is shared); everything here takes a few seconds."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_bench_sim():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_sim", ROOT / "scripts" / "bench_sim.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_sim = _load_bench_sim()


def _in_git_checkout() -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"], cwd=ROOT, capture_output=True, check=False
    )
    return done.returncode == 0


needs_git = pytest.mark.skipif(not _in_git_checkout(), reason="not a git checkout")


def _worktrees() -> str:
    return subprocess.run(
        ["git", "worktree", "list", "--porcelain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_compare_takes_a_revision_and_keeps_the_other_options():
    args = bench_sim.parse_args(["--compare", "e99609c", "--repeats", "3", "--requests", "2048"])
    assert (args.compare, args.repeats, args.requests) == ("e99609c", 3, 2048)
    assert bench_sim.parse_args([]).compare is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--compare", "HEAD", "--instructions"],
        ["--compare", "HEAD", "--repeats", "0"],
        ["--compare", "HEAD", "--requests", "10"],
        ["--compare"],
    ],
    ids=["with-instructions", "no-repeats", "too-few-requests", "no-revision"],
)
def test_bad_compare_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        bench_sim.parse_args(argv)
    assert stop.value.code == 2
    assert "error:" in capsys.readouterr().err


@needs_git
def test_the_worktree_is_removed_when_the_block_fails():
    made = []
    with (
        pytest.raises(RuntimeError, match="a run failed"),
        bench_sim.temporary_worktree("HEAD") as tree,
    ):
        made.append(tree)
        assert (tree / "scripts" / "bench_sim.py").is_file()
        assert str(tree) in _worktrees()
        raise RuntimeError("a run failed")
    assert not made[0].exists() and not made[0].parent.exists()
    assert str(made[0]) not in _worktrees()


@needs_git
def test_an_unknown_revision_is_refused_before_anything_is_made(capsys, monkeypatch):
    calls = []
    git = bench_sim._git

    def recording_git(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return git(*args)

    monkeypatch.setattr(bench_sim, "_git", recording_git)
    assert bench_sim.compare("no-such-revision-xyz", requests=1024, repeats=1) == 2
    assert "not a commit" in capsys.readouterr().err
    assert all(args[0] == "rev-parse" for args in calls)


def test_a_child_run_measures_the_tree_it_is_given():
    figure = bench_sim.child_run(ROOT, "leaf-spine", "64", "1024")
    assert figure > 0
    quick = bench_sim.child_run(ROOT, "quickstart", str(ROOT / "topologies" / "quickstart.yaml"))
    assert quick > 0


def test_a_child_run_refuses_a_slugsim_from_elsewhere(tmp_path):
    """A tree without models/ must not be measured with whatever slugsim is installed."""
    with pytest.raises(RuntimeError):
        bench_sim.child_run(tmp_path, "leaf-spine", "64", "1024")
