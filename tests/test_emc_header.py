"""The generated CSR header (rtl/emc/emc_monitor_csr.vh) and its generator, slugsim.emc.header."""

import subprocess
import sys
from pathlib import Path

import pytest
from slugsim.emc import header


def test_generated_csr_header_is_fresh():
    assert header.HEADER_PATH.read_text() == header.render_csr_header(), (
        "rtl/emc/emc_monitor_csr.vh is stale: run `.venv/bin/python -m slugsim.emc.header`"
    )


def test_check_passes_on_the_committed_header_as_make_lint_runs_it():
    result = subprocess.run(
        [sys.executable, "-m", "slugsim.emc.header", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_check_catches_a_stale_header_and_regenerating_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    stale = tmp_path / "emc_monitor_csr.vh"
    stale.write_text("// an older CSR map\n")
    monkeypatch.setattr(header, "HEADER_PATH", stale)
    assert header.main(["--check"]) == 1
    assert header.main([]) == 0
    assert stale.read_text() == header.render_csr_header()
    assert header.main(["--check"]) == 0
