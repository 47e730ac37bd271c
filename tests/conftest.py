import os
from pathlib import Path

import pytest
from django.db import connection, connections

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made
# beside it from the same thread are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    have_chromium = Path(CHROMIUM_PATH).exists()
    for item in items:
        if "page" in getattr(item, "fixturenames", ()) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
            if not have_chromium:
                if in_ci:
                    raise pytest.UsageError(f"CI needs Chromium at {CHROMIUM_PATH} to run {item}")
                item.add_marker(
                    pytest.mark.skip(reason=f"no Chromium at {CHROMIUM_PATH} (set CHROMIUM_PATH)")
                )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/ to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


@pytest.fixture(autouse=True)
def search_statistics_kept_empty():
    """Each test starts as if the search had just read its columns' statistics and found no
    common trigram (contacts/search.py reads them once a minute), so that no query count
    depends on which test searched first. A test about them forgets them after ANALYZE."""
    from contacts import search

    for alias in connections:
        search.keep_common_trigrams(alias, set())
    yield
    search.forget_common_trigrams()


@pytest.fixture(autouse=True)
def access_facts_reconciled(request):
    """After every test that used the database, the access facts equal their recomputation.

    Whatever the test did through the services, its facts must hold; a test that writes
    access rows by hand keeps their facts with `refresh_access_facts`, as a service would.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or request.node.get_closest_marker("browser"):
        yield
        return
    # Set up the database first, so that it is still there when this checks it.
    request.getfixturevalue("_django_db_helper")
    yield
    from purchases.access.facts import reconcile_access_facts

    assert reconcile_access_facts() == [], "the access facts differ from their recomputation"
