"""hipaa-lsp in real editors: headless Neovim (built-in LSP client) and Emacs (eglot + flymake).

Each editor opens a misconfigured redis.conf, shows the diagnostic at the exact place, hovers it
(HIPAA citation), applies the quick fix, and sees the diagnostic go away. Skipped when the editor is
not installed (.ci/run installs both from Debian packages).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "editors"
TEXT = "bind 127.0.0.1\nprotected-mode no\n"


def _run(cmd: list[str], tmp_path: Path, file: Path) -> dict:
    result_file = tmp_path / "result.json"
    env = dict(os.environ, HIPAA_LSP_RESULT=str(result_file), HIPAA_LSP_PYTHON=sys.executable,
               HIPAA_LSP_FILE=str(file), HOME=str(tmp_path))
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result_file.is_file(), f"editor wrote no result:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(result_file.read_text())


@pytest.mark.skipif(shutil.which("nvim") is None, reason="neovim not installed")
def test_neovim(tmp_path: Path):
    file = tmp_path / "redis.conf"
    file.write_text(TEXT)
    result = _run(["nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
                   "-c", f"luafile {HERE / 'neovim_client.lua'}", str(file)], tmp_path, file)
    assert "error" not in result, result
    assert result["diagnostic_seen"] is True
    assert result["range"] == [1, 15, 1, 17]
    assert "45 CFR § 164.312(a)(1) Access control (Required)" in result["hover"]
    assert "REDIS-NET-001" in result["action"]
    assert "protected-mode yes" in result["text_after_fix"]
    assert result["cleared"] is True


@pytest.mark.skipif(shutil.which("emacs") is None, reason="emacs not installed")
def test_emacs_eglot(tmp_path: Path):
    file = tmp_path / "redis.conf"
    file.write_text(TEXT)
    result = _run(["emacs", "--batch", "-l", str(HERE / "eglot_client.el")], tmp_path, file)
    if "eglot" in str(result.get("error", "")) and "void" in str(result.get("error", "")):
        pytest.skip(f"eglot not available: {result['error']}")
    assert "error" not in result, result
    assert result["diagnostic_seen"] is True
    assert (result["line"], result["beg_col"], result["end_col"]) == (2, 15, 17)
    assert "45 CFR § 164.312(a)(1) Access control (Required)" in result["hover"]
    assert "protected-mode yes" in result["text_after_fix"]
    assert result["cleared"] is True
