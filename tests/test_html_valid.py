"""Valid HTML on every screen: the Nu HTML checker reports no error but htmx's attributes.

Every page of tests/browser/screens.py is rendered as its user sees it, and each htmx
partial its states ask for is rendered both as htmx receives it (wrapped in a minimal
document) and as a page of its own. The checker runs once over all of them.
"""

import json
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import resolve

from kajaccess.views import server_error
from tests.browser.screens import EXCLUDED, SCREENS, prepare
from tests.checkers import VNU, require
from tests.test_security import CHANGING, patterns

pytestmark = pytest.mark.django_db

# htmx's attributes are not HTML's; the checker knows only data-* as custom attributes.
HTMX_ATTRIBUTE = re.compile(r"^Attribute “hx-[\w:-]+” not allowed")
WRAPPER = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{name}</title></head>'
    "<body>{body}</body></html>"
)


class AnyIds(dict):
    """Ids for paths that are only resolved: any number will do."""

    def __missing__(self, key):
        return "1"


def covered_names(ids: dict) -> set[str]:
    names = set()
    for screen in SCREENS:
        for path in [screen.path(ids), *screen.fragments(ids)]:
            names.add(resolve(path.split("?")[0]).view_name)
    return names


def test_every_page_is_in_the_registry():
    """A new screen that answers GET with a page needs a Screen (or a reason not to)."""
    pages = {name for name, _, _ in patterns()} - CHANGING
    covered = covered_names(AnyIds())
    assert pages - covered - set(EXCLUDED) == set(), (
        "a page with no Screen in tests/browser/screens.py, nor a reason in EXCLUDED"
    )
    assert set(EXCLUDED) & covered == set(), "a registered screen is not excluded"
    assert set(EXCLUDED) <= pages, "an exclusion names no page any more"


def signed_in(email: str | None) -> Client:
    client = Client()
    if email:
        client.force_login(get_user_model().objects.get(email=email))
    return client


def documents(ids: dict) -> dict[str, tuple[str, str]]:
    """File name -> (what it is, its HTML), for every page and partial of the registry."""
    found, wrong, seen = {}, [], set()

    def get(name: str, who, path: str, status: int, htmx: bool) -> None:
        if (who, path, htmx) in seen:
            return
        seen.add((who, path, htmx))
        headers = {"HX-Request": "true"} if htmx else {}
        response = clients[who].get(path, headers=headers, follow=not htmx)
        if response.status_code != status:
            wrong.append(f"{name}: {path} answered {response.status_code}, not {status}")
            return
        body = response.content.decode()
        if not body.lstrip().lower().startswith("<!doctype"):
            body = WRAPPER.format(name=name, body=body)
        found[f"{name}.html"] = (f"{who or 'nobody'} GET {path}", body)

    clients = {}
    for screen in SCREENS:
        if screen.who not in clients:
            clients[screen.who] = signed_in(screen.who)
        get(screen.name, screen.who, screen.path(ids), screen.status, htmx=False)
        for n, path in enumerate(screen.fragments(ids)):
            get(f"{screen.name}-{n}-htmx", screen.who, path, 200, htmx=True)
            get(f"{screen.name}-{n}-page", screen.who, path, 200, htmx=False)
    assert not wrong, "\n".join(wrong)
    # The error pages no address of their own leads to: too many failed sign-ins, a failure.
    for _ in range(5):
        locked = Client().post("/accounts/login/", {"username": "x@example.com", "password": "x"})
    assert locked.status_code == 429
    found["too-many-sign-ins.html"] = ("nobody POST /accounts/login/ x5", locked.content.decode())
    failure = server_error(RequestFactory().get("/contacts/"))
    found["server-error.html"] = ("the 500 page", failure.content.decode())
    return found


def test_every_page_and_partial_is_valid_html(tmp_path):
    require(VNU, "java")
    documents_by_file = documents(prepare())
    for file, (_, body) in documents_by_file.items():
        (tmp_path / file).write_text(body)
    run = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU),
            "--format",
            "json",
            "--errors-only",
            "--skip-non-html",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    errors = [
        f"{documents_by_file[m['url'].rsplit('/', 1)[-1]][0]} line {m.get('lastLine')}: "
        f"{m['message']} [{m.get('extract', '').strip()}]"
        for m in messages
        if m["type"] != "info" and not HTMX_ATTRIBUTE.match(m["message"])
    ]
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(sorted(set(errors)))
