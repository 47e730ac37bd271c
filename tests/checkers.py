"""The checkers the tests run, from npm (package.json): axe-core and the Nu HTML checker.

`make test` installs them with npm. Where they or Java are missing a check that needs
them is skipped, saying what to install; under CI it fails instead.
"""

import os
import shutil
from pathlib import Path

import pytest

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"


def require(path: Path, program: str = "") -> None:
    """Skip (fail under CI) unless `path` exists and `program` is on the PATH."""
    missing = []
    if not path.exists():
        missing.append(f"{path.relative_to(NODE_MODULES.parent)} (run `make test` or `npm ci`)")
    if program and shutil.which(program) is None:
        missing.append(f"`{program}` on the PATH")
    if not missing:
        return
    message = "needs " + " and ".join(missing)
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI {message}")
    pytest.skip(message)
