"""Every form of every URL, sent boundary and malformed values one field at a time.

FORMS (tests/fuzz_forms.py) maps every URL name of `patterns()` to the forms it takes:
their fields, each with a kind and a value it accepts. The fuzzer sends a form with
every field valid but one, set to each HOSTILE value in turn. A value the field's kind
must refuse gets the view's refusal (a 4xx, or for sign-in the page with the error) with
a message in the product's words (none of FRAMEWORK_PHRASES or FRAMEWORK_WORDS), and
leaves every row of every model as it was; any other value gets anything but a 500. A URL, or a form class of the project, missing from FORMS fails
`test_every_url_and_every_form_is_fuzzed`.
"""

import hashlib
import re
from html.parser import HTMLParser

import django_filters
import pytest
from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from contacts.bulk.pasted import pasted_selection_create
from contacts.models import Contact, PastedSelection, Tag
from kajaccess.actors import Actor
from kajaccess.models import SiteMembership
from kajaccess.team.tokens import invitation_tokens
from products.models import Offer, Product
from purchases.access import services
from purchases.models import AccessStatus, BulkAction, Grant
from tests.fuzz_forms import FORMS, HOSTILE, REFUSES, Field, Form
from tests.test_security import client_for, patterns, url_for, world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def fuzzed(world):  # noqa: F811
    """The world of test_security, with what a valid form of each URL needs."""
    creator, other = world["creator"], world["other_member"]
    site, other_site = creator.memberships.get().site, other.memberships.get().site
    ada = Contact.objects.get(site=site, email="ada@example.com")
    grace = Contact.objects.get(site=site, email="grace@example.com")
    revoked = Grant.objects.get(contact=grace, offer_id=world["ids"]["offer_id"])
    held = Grant.objects.filter(contact=ada, status=AccessStatus.ACTIVE).values("offer_id")
    Tag.objects.get_or_create(site=other_site, name="Other tag")
    pasted_selection_create(site=other_site, user=other, text="someone@other.example")
    BulkAction.objects.create(site=other_site, created_by=other, action="add_tag", params={})
    actor = Actor.creator(creator)
    partly_holder = Contact.objects.filter(site=site).exclude(pk__in=[ada.pk, grace.pk]).first()
    bootcamp = Offer.objects.get(pk=world["ids"]["offer_id"])
    partly = services.grant_offer(contact=partly_holder, offer=bootcamp, actor=actor).obj
    advanced = Product.objects.get(pk=world["ids"]["product_id"])
    services.revoke_product(grant=partly, product=advanced, actor=actor)
    # Someone who never signs in here, so their reset link stays good.
    forgetful = get_user_model().objects.create_user(
        "forgetful@example.com", "forgetful@example.com", "kajaccess-demo"
    )
    changer = get_user_model().objects.create_user(
        "changer@example.com", "changer@example.com", "kajaccess-demo"
    )
    invitee = get_user_model().objects.create_user("invited@example.com", "invited@example.com")
    invitee.set_unusable_password()
    invitee.save()
    invited = SiteMembership.objects.create(
        site=site, user=invitee, role=SiteMembership.Role.ASSISTANT, invited_at=timezone.now()
    )
    return {
        **world,
        "ids": {
            **world["ids"],
            "site_id": site.pk,
            "invited_member_id": invited.pk,
            "reset_uid": urlsafe_base64_encode(force_bytes(forgetful.pk)),
            "reset_token": default_token_generator.make_token(forgetful),
            "invite_uid": urlsafe_base64_encode(force_bytes(invitee.pk)),
            "invite_token": invitation_tokens.make_token(invitee),
            "grace_id": grace.pk,
            "revoked_grant_id": revoked.pk,
            "partly_contact_id": partly_holder.pk,
            "partly_grant_id": partly.pk,
        },
        "bootcamp_products": list(bootcamp.products.values_list("pk", flat=True)),
        "site_tag": Tag.objects.get_or_create(site=site, name="Fuzzed tag")[0].pk,
        "offer_to_grant": Offer.objects.live().filter(site=site).exclude(pk__in=held).first().pk,
        "other site": {
            model: model.objects.filter(site=other_site).first().pk
            for model in (Offer, Product, Tag, Contact, PastedSelection, BulkAction)
        },
        "clients": {
            "creator": client_for(creator),
            "ada": client_for(world["ada"]),
            "changer": client_for(changer),
        },
    }


def snapshot() -> dict:
    """Every model's row count and a checksum of its rows."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            # The sign-in throttle records every failed attempt, and a one-time link keeps
            # its token in the session: neither is what a form changes.
            if meta.app_label in ("axes", "sessions"):
                continue
            table, pk = map(connection.ops.quote_name, (meta.db_table, meta.pk.column))
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
            rows = cursor.fetchall()
            state[meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def _value(spec: Field, w: dict):
    value = spec.valid(w) if callable(spec.valid) else spec.valid
    return [str(item) for item in value] if spec.many else value


def _hostile(spec: Field, name: str, w: dict):
    value = HOSTILE[name]
    if name == "other site":
        value = str(w["other site"][spec.model or Contact])
    if spec.kind == "file":
        return SimpleUploadedFile(f"{name}.csv", value.encode(), content_type="text/csv")
    if spec.many:
        return [] if value == "" else [value]
    return value


def _url(name: str, pattern: str, form: Form, w: dict) -> str:
    ids = {**w["ids"], **{key: w["ids"][other] for key, other in form.ids.items()}}
    return url_for(pattern, ids)


def _send(w: dict, form: Form, url: str, data: dict, htmx: bool):
    cache.clear()  # sign-in attempts are counted there
    # Signing in or out changes who the client is: those get a client of their own.
    fresh = {"nobody": lambda: client_for(None), "leaving": lambda: client_for(w["creator"])}
    client = fresh[form.user]() if form.user in fresh else w["clients"][form.user]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if form.method == "GET":
        return client.get(url, data, **headers)
    return client.post(url, data, **headers)


def _says_why(response) -> bool:
    """A refusal tells the creator what to fix."""
    if response.get("Content-Type", "").startswith("text/plain"):
        return bool(response.content.strip())
    html = response.content.decode()
    marks = ('class="errorlist', 'role="alert"', "message--error", 'class="field-error')
    return any(mark in html for mark in marks)


def _cases(w: dict):
    """Each form of each URL, valid but for one field made hostile."""
    for name, pattern, _ in patterns():
        for form in FORMS[name]:
            url = _url(name, pattern, form, w)
            valid = {key: _value(spec, w) for key, spec in form.fields.items()}
            for key, spec in form.fields.items():
                if form.only is not None and key not in form.only:
                    continue
                for hostile in HOSTILE:
                    data = {**valid, key: _hostile(spec, hostile, w)}
                    yield name, form, url, data, f"{key}={hostile}", hostile in REFUSES[spec.kind]


def _try(w, form, url, data, htmx, before, check=True):
    """Send a form and say whether it changed anything; nothing of it stays."""
    with transaction.atomic():
        response = _send(w, form, url, data, htmx)
        changed = check and snapshot() != before
        transaction.set_rollback(True)
    return response, changed


def test_every_url_and_every_form_is_fuzzed():
    assert set(FORMS) == {name for name, _, _ in patterns()}
    fuzzed_classes = set()
    for name, variants in FORMS.items():
        fields = set().union(*(form.fields for form in variants))
        for form in variants:
            for cls in form.classes:
                names = (
                    cls.base_filters
                    if issubclass(cls, django_filters.FilterSet)
                    else cls.base_fields
                )
                assert set(names) <= fields, (name, cls.__name__, set(names) - fields)
                fuzzed_classes.add(cls)
    ours = [
        cls
        for base in (forms.BaseForm, django_filters.FilterSet)
        for cls in _subclasses(base)
        if cls.__module__.split(".")[0] in {"kajaccess", "contacts", "products", "purchases"}
        and ".admin" not in cls.__module__
    ]
    assert set(ours) - fuzzed_classes == set()


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_each_valid_form_is_taken(fuzzed):
    """The fuzzer's starting point is a form the view takes, so each refusal is its field's."""
    before = snapshot()
    for name, pattern, _ in patterns():
        for form in FORMS[name]:
            url = _url(name, pattern, form, fuzzed)
            data = {key: _value(spec, fuzzed) for key, spec in form.fields.items()}
            response, changed = _try(fuzzed, form, url, data, False, before)
            assert response.status_code in {200, 302}, (name, response.status_code)
            if name != "logout":
                assert not response.get("Location", "").startswith("/accounts/login"), name
            assert changed == form.changes, (name, form.method, changed)


def test_no_hostile_value_gets_a_500_or_changes_anything_it_is_refused(fuzzed):
    # Each case is rolled back, so every one starts from this state.
    before = snapshot()
    failures = []
    for i, (name, form, url, data, case, must_refuse) in enumerate(_cases(fuzzed)):
        reading = form.method == "GET"
        # Every other case asks as HTMX does, for the partial a page swaps in.
        try:
            response, changed = _try(
                fuzzed,
                form,
                url,
                data,
                i % 2 == 1 and not form.page_only,
                before,
                check=must_refuse or reading,
            )
        except Exception as error:
            error.add_note(f"{form.method} {name} {case}")
            raise
        status = response.status_code
        problems = [
            (status >= 500, f"{status}"),
            (must_refuse and status not in form.refused, f"{status}, not refused"),
            (must_refuse and not _says_why(response), "refused without a message"),
            # A page's view parameters and lenient fields never stop it from showing.
            (reading and not must_refuse and status != 200, f"{status}, not shown"),
            (changed, "changed something"),
            (bool(words := framework_words_said(response)), f"framework words {words}"),
        ]
        failures += [f"{form.method} {name} {case}: {text}" for found, text in problems if found]
    assert not failures, "\n".join(failures)


# Words of Django's, or of the code, that must never reach a user in a message.
FRAMEWORK_PHRASES = (
    "Select a valid choice",
    "That choice is not one of the available choices",
    "Enter a whole number",
    "Ensure this value",
    "Ensure that there are no more than",
    "Enter a list of values",
)
FRAMEWORK_WORDS = re.compile(r"\b(username|query|pk|None|Resolver\w*)\b")
MESSAGE_MARKS = ("errorlist", "field-error", "message--error", "errornote")


class _Messages(HTMLParser):
    """The text of a page's error messages: what a refusal says to the user."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside a message while > 0
        self.stack = []
        self.texts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        marked = attrs.get("role") == "alert" or any(
            mark in (attrs.get("class") or "").split() for mark in MESSAGE_MARKS
        )
        if tag in VOID:
            return
        self.stack.append(marked)
        self.depth += marked

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.depth -= self.stack.pop()

    def handle_data(self, data):
        if self.depth > 0 and data.strip():
            self.texts.append(data.strip())


VOID = {"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col", "area", "base"}


def messages_of(response) -> str:
    if response.get("Content-Type", "").startswith("text/plain"):
        return response.content.decode()
    parser = _Messages()
    parser.feed(response.content.decode())
    return " ".join(parser.texts)


def framework_words(text: str) -> list[str]:
    found = [phrase for phrase in FRAMEWORK_PHRASES if phrase in text]
    return found + FRAMEWORK_WORDS.findall(text)


def framework_words_said(response) -> list[str]:
    if response.streaming:  # a CSV export: data, not messages
        return []
    # Most pages have no such word anywhere: only those that do are read for their messages.
    if not framework_words(response.content.decode()):
        return []
    return framework_words(messages_of(response))


def test_framework_words_spot_what_they_should():
    assert framework_words("Select a valid choice. 7 is not one of the available choices.")
    assert framework_words("Please enter a correct username and password.")
    assert framework_words("No Contact matches the given query.")
    assert not framework_words("That tag no longer exists. Choose one of the options in the list.")
