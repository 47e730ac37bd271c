"""The domain layer's imports point one way: kajaccess <- contacts <- products <- purchases."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["kajaccess", "contacts", "products", "purchases"]
DOMAIN = ["models.py", "services.py", "selectors.py", "signals.py", "actors.py", "billing.py"]


def imported_apps(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names & set(ORDER)


@pytest.mark.parametrize("app", ORDER)
def test_a_lower_app_never_imports_a_higher_one(app):
    higher = set(ORDER[ORDER.index(app) + 1 :])
    for name in DOMAIN:
        path = ROOT / app / name
        if path.exists():
            assert imported_apps(path) & higher == set(), f"{app}/{name}"
