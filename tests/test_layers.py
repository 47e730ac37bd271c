"""The code's imports keep its layers apart.

The domain layer (models, services, selectors, events, states, signals) points one way:
kajaccess <- contacts <- products <- purchases; it never imports the application layer
(views, forms, tables, admin, URLs, bulk actions and imports, tasks, commands); and no
module of the project imports itself back through others, counting imports inside
functions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["kajaccess", "contacts", "products", "purchases"]
DOMAIN = {"models", "services", "selectors", "signals", "events", "states", "actors", "outcomes"}
APPLICATION = {"views", "urls", "admin", "forms", "table", "tables", "filters", "tasks", "web"}
APPLICATION_PACKAGES = {"views", "bulk", "imports", "management", "demo", "api"}


def modules() -> dict[str, Path]:
    """Every module of the project by dotted name (a package by its __init__)."""
    found = {}
    for app in ORDER:
        for path in (ROOT / app).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """The project's modules this one imports, anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found.add(_resolve(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            found.update(_resolve(alias.name) for alias in node.names)
    return found - {None, module}


def is_domain(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in DOMAIN or "models" in parts[1:-1]


def is_application(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in APPLICATION or (len(parts) > 2 and parts[1] in APPLICATION_PACKAGES)


DOMAIN_MODULES = sorted(m for m in MODULES if is_domain(m) and not is_application(m))


def test_the_domain_layer_is_found():
    # The rules below check these; a domain module that moved out of their sight would
    # silently stop being checked.
    for module in [
        "kajaccess.models",
        "contacts.services",
        "products.models",
        "purchases.models.access",
        "purchases.access.services",
        "purchases.access.selectors",
        "purchases.reports.selectors",
        "purchases.billing.services",
    ]:
        assert module in DOMAIN_MODULES


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_a_lower_app_never_imports_a_higher_one(module):
    app = module.split(".")[0]
    higher = set(ORDER[ORDER.index(app) + 1 :])
    assert {name.split(".")[0] for name in imports(module)} & higher == set()


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_the_domain_never_imports_the_application_layer(module):
    assert {name for name in imports(module) if is_application(name)} == set()


def test_no_module_imports_itself_back():
    """Tarjan's strongly connected components of the import graph are single modules."""
    graph = {module: imports(module) for module in MODULES}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []
