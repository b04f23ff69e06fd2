"""The bench's profiler finds py-spy where the test extras install it: beside the venv's Python, also when
`pulse bench` runs unactivated (PATH without the venv's bin/); the 100M run of stop 37 lost its profiles so."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from pulse.bench.harness import py_spy


def test_py_spy_is_found_beside_this_python_without_path(monkeypatch):
    monkeypatch.setenv("PATH", os.devnull)
    found = py_spy()
    assert found == str(Path(sys.executable).parent / "py-spy")
    assert os.access(found, os.X_OK)
