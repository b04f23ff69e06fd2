"""What `pip install .` (the Docker image) ships: every module and data file of the five layers.

Editable installs (the README's, CI's) read the source tree, so a package or data file missing from
the build only shows in the image; this reads the build's own configuration to find it first."""
from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("pulse", "schemas", "streams", "sinks", "ui")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _source_files():
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path.relative_to(ROOT)


def _built_packages() -> set[str]:
    packages = _config()["packages"]
    if isinstance(packages, list):  # the listed form, as setuptools takes it
        return set(packages)
    return set(find_packages(str(ROOT), include=packages["find"]["include"]))


def test_every_module_is_in_a_package_the_build_includes():
    found = _built_packages()
    missing = sorted({".".join(p.parent.parts) for p in _source_files() if p.suffix == ".py"} - found)
    assert not missing, f"modules outside any built package (missing __init__.py or include pattern): {missing}"


def test_every_data_file_is_package_data():
    globs = _config()["package-data"]
    unshipped = []
    for path in _source_files():
        if path.suffix == ".py":
            continue
        package = ".".join(path.parent.parts)
        owners = [(pkg, pattern) for pkg, patterns in globs.items() for pattern in patterns
                  if package.startswith(pkg) and fnmatch.fnmatch(
                      str(path.relative_to(Path(*pkg.split("."))) ), pattern)]
        if not owners:
            unshipped.append(str(path))
    assert not unshipped, f"files the image would not ship (add them to package-data): {unshipped}"
