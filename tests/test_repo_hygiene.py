"""`ruff check` and `ruff format --check` are part of the suite, so CI keeps them clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "fmt"])
def test_ruff_is_clean(args):
    assert RUFF.exists(), "ruff is missing from the venv: run `make setup`"
    result = subprocess.run(
        [str(RUFF), *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rtl_lint_is_clean():
    """Verilator -Wall, Yosys synthesis without latches, and the pyverilog parse of rtl/."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lint_rtl.sh")],
        cwd=ROOT,
        # the interpreter running the suite, also in a worktree without its own .venv
        env={**os.environ, "PY": sys.executable},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
