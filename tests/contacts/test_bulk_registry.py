"""Each bulk action is one class in the registry: a new class is all it takes for the action
bar to offer it and for the popup, the run and the history to handle it."""

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from contacts import services as contact_services
from contacts.bulk import views as bulk_views
from contacts.bulk.actions import BulkActionType, _tally, registry, skipped_rest
from contacts.models import ContactTag, Tag
from purchases.models import BulkAction
from tests.academy import build_academy

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
VIEWS = Path(bulk_views.__file__)


class StarAction(BulkActionType):
    """A bulk action only this test knows: it tags the contacts “Starred”."""

    name = "star_contacts"
    label = "Star"
    permission = "kajaccess.tag_contacts"
    prompt = "Nothing to choose."

    def count(self, contacts):
        starred = Q(Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag__name="Starred")))
        return _tally(contacts, will_change=~starred, skipped={"already starred": starred})

    def execute(self, contact_ids):
        tag = contact_services.tag_get_or_create(site=self.site, name="Starred")
        added = contact_services.add_tag(tag=tag, contact_ids=contact_ids, actor=self.actor)
        return len(added), skipped_rest(contact_ids, added, "already starred")


@pytest.fixture
def star():
    registry.register(StarAction)
    yield StarAction
    registry.unregister(StarAction)


@pytest.fixture
def academy(client):
    academy = build_academy()
    client.force_login(academy.creator)
    return academy


def test_no_bulk_view_names_an_action():
    source = VIEWS.read_text()
    for name in registry.names():
        assert name not in source, f"contacts/bulk/views.py names the bulk action “{name}”"
    for action in map(registry.get, registry.names()):
        assert action.__name__ not in source, f"contacts/bulk/views.py names {action.__name__}"


def test_no_bulk_view_writes_a_row():
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(VIEWS.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    writes = {"create", "bulk_create", "update", "bulk_update", "save", "delete", "get_or_create"}
    assert calls & writes == set()


def test_a_newly_registered_action_is_offered_previewed_and_run(
    client, academy, star, django_capture_on_commit_callbacks
):
    starred = Tag.objects.create(site=academy.site, name="Starred")
    ContactTag.objects.create(contact=academy.grace, tag=starred)

    bar = client.get(reverse("contacts:list")).content.decode()
    assert re.search(r'<button [^>]*value="star_contacts"[^>]*data-bulk-action>Star</button>', bar)

    data = {"action": "star_contacts", "ids": [academy.ada.pk, academy.grace.pk]}
    popup = client.post(reverse("bulk:preview"), data, **HTMX)
    assert popup.status_code == 200
    page = popup.content.decode()
    assert "Star for 2 contacts?" in page
    assert re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page) == [
        ("Selected", "2"),
        ("Will change", "1"),
        ("Skipped", "1"),
    ]
    assert "<li>Already starred: <strong>1</strong></li>" in page
    assert '<button class="button button--primary" type="submit">Star</button>' in page

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("bulk:start"), data, **HTMX)
    bulk = BulkAction.objects.get()
    assert started["HX-Redirect"] == reverse("bulk:detail", args=[bulk.pk])
    assert (bulk.action, bulk.status, bulk.changed, bulk.skipped) == ("star_contacts", "done", 1, 1)
    assert Counter(bulk.outcome["skipped"]) == Counter({"already starred": 1})
    assert set(starred.contacts.all()) == {academy.ada, academy.grace}

    history = client.get(reverse("bulk:history")).content.decode()
    row = history.split(f'id="bulk-action-{bulk.pk}"')[1].split("</tr>")[0]
    assert ">Star</a>" in row
    assert "Undo" not in row  # it names no undo action


def test_an_action_no_longer_registered_is_not_offered(client, academy):
    bar = client.get(reverse("contacts:list")).content.decode()
    assert "star_contacts" not in bar
    response = client.post(
        reverse("bulk:preview"), {"action": "star_contacts", "ids": [academy.ada.pk]}, **HTMX
    )
    assert response.status_code == 400
    assert (
        "Choose one of the bulk actions: Grant offer, Revoke offer, Add tag, Remove tag, "
        "Set access end date, Remove end date." in response.content.decode()
    )


def test_two_actions_cannot_share_a_name(star):
    with pytest.raises(ImproperlyConfigured):
        registry.register(type("Twin", (StarAction,), {}))
