"""Every form of every URL, sent boundary and malformed values one field at a time.

FORMS maps every URL name of `patterns()` to the forms it takes: their fields, each with
a kind and a value it accepts. The fuzzer sends a form with every field valid but one,
set to each HOSTILE value in turn. A value the field's kind must refuse gets the view's
refusal (a 4xx, or for sign-in the page with the error) with a message, and leaves every
row of every model as it was; any other value gets anything but a 500. A URL, or a form
class of the project, missing from FORMS fails `test_every_url_and_every_form_is_fuzzed`.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import django_filters
import pytest
from django import forms
from django.apps import apps
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from contacts.bulk.actions import OfferChoiceForm, TagChoiceForm
from contacts.bulk.forms import BulkActionForm, ConfirmForm, SelectionForm
from contacts.filters import ContactFilter
from contacts.models import Contact, Tag
from kajaccess.actors import Actor
from products.filters import ProgressFilter
from products.forms import OfferForm, OfferProductsForm
from products.models import Offer, Product
from purchases.access import services
from purchases.automations.forms import AutomationForm
from purchases.billing.forms import CancelPaymentsForm, PausePaymentsForm
from purchases.filters import ActivityFilter
from purchases.forms import AccessChangeForm, GrantOfferForm
from purchases.models import AccessStatus, Grant
from tests.test_security import client_for, patterns, url_for, world  # noqa: F401

pytestmark = pytest.mark.django_db

HOSTILE = {
    "empty": "",
    "long": "x" * 10_000,
    "nul": "a\x00b",
    "crlf": "a\r\nb",
    "negative": "-1",
    "out of bounds": "99999999",  # a whole number the database holds, beyond any bound
    "huge": str(2**63),
    "exponent": "1e400",
    "nan": "NaN",
    "impossible date": "2026-02-30",
    "far date": "9999-12-31",
    "other site": None,  # the id of another site's row, filled in per field
}
EVERY = frozenset(HOSTILE)
# What a field of each kind must refuse; it may take the other values, but never with a 500.
REFUSES = {
    "line": frozenset({"empty", "long", "nul", "crlf"}),  # a title or a name
    "optional line": frozenset({"long", "nul", "crlf"}),
    "text": frozenset({"long", "nul"}),  # a reason: several lines
    "id": EVERY,
    "optional id": EVERY - {"empty"},
    # Another site's contacts and ids nobody has are counted and skipped, as the preview says.
    "contact ids": EVERY - {"other site", "out of bounds"},
    "number": EVERY - {"empty", "other site"},  # a small id is a fine number of days
    "money": EVERY - {"other site"},
    "choice": EVERY,
    "optional choice": EVERY - {"empty"},
    "date": EVERY,
    "search": frozenset({"nul"}),
    "query": frozenset({"long", "nul"}),
    "sign-in": EVERY,
    "lenient": frozenset(),  # flags, `next`, page, page size, sort: read leniently
}


@dataclass(frozen=True)
class Field:
    kind: str
    valid: object = ""  # a value it takes: text, a list, or a function of the world
    model: type | None = None  # for ids: the model whose row of another site is sent
    many: bool = False


@dataclass(frozen=True)
class Form:
    method: str
    fields: dict = field(default_factory=dict)
    # The form classes and filter sets that read these fields.
    classes: tuple = ()
    refused: frozenset = frozenset({400})
    # Whether the valid form changes something: then "nothing changed" means something.
    changes: bool = False
    user: str = "creator"
    ids: dict = field(default_factory=dict)  # URL ids other than the world's
    # The fields made hostile, when another variant of the URL's form covers the rest.
    only: tuple | None = None


def _line(valid):
    return Field("line", valid)


NEXT = {"next": Field("lenient", "/contacts/")}
REASON = {"reason": Field("text", "Refunded\r\non request")}
VIEW = {name: Field("lenient") for name in ("page", "per_page", "sort")}
SELECTION = {
    "ids": Field("contact ids", lambda w: [w["ids"]["contact_id"]], many=True),
    "select_all": Field("lenient"),
    "query": Field("query", "q=ada"),
}
OFFER_FIELDS = {
    # The Products the edited Offer has: a change to them would stop at its preview.
    "products": Field("optional id", lambda w: w["bootcamp_products"], Product, many=True),
    "payment_type": Field("choice", "payment_plan"),
    "price": Field("money", "10.00"),
    "interval": Field("choice", "month"),
    "installments": Field("number", "3"),
    "access_days": Field("number", "30"),
    "confirmed_products": Field("lenient"),
}
OFFER_CLASSES = (OfferForm,)
BULK_CLASSES = (BulkActionForm, ConfirmForm)
IN_A_MONTH = lambda w: (timezone.localdate() + timedelta(days=30)).isoformat()  # noqa: E731
RESTORABLE = {"contact_id": "grace_id", "grant_id": "revoked_grant_id"}
PARTLY_REVOKED = {"contact_id": "partly_contact_id", "grant_id": "partly_grant_id"}


def _bulk(action: str, params: dict, classes: tuple, *, start: bool, first: bool) -> Form:
    fields = {**SELECTION, "action": Field("choice", action), **params}
    if start:
        fields |= {**REASON, "confirm_count": Field("lenient")}
    else:  # the preview only carries what was typed over to the confirmation
        fields |= {"reason": Field("lenient"), "confirm_count": Field("lenient")}
    only = None if first else tuple(params)
    return Form("POST", fields, BULK_CLASSES + classes, changes=start, only=only)


def _bulk_forms(*, start: bool) -> tuple:
    return tuple(_bulk(*params, start=start, first=i == 0) for i, params in enumerate(BULK_PARAMS))


BULK_PARAMS = [
    ("add_tag", {"tag": _line("Fuzzed")}, (TagChoiceForm,)),
    (
        "grant_offer",
        {"offer": Field("id", lambda w: w["offer_to_grant"], Offer)},
        (OfferChoiceForm,),
    ),
]


def _progress(fields: dict) -> tuple:
    return (Form("GET", fields, (ProgressFilter,)),)


PROGRESS = {"q": Field("search", "ada"), "access": Field("optional choice")}
CHANGE_ACCESS = (Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True),)
RESTORE = (Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True, ids=RESTORABLE),)
RESTORE_PRODUCT = (
    Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True, ids=PARTLY_REVOKED),
)
FORMS = {
    "home": (Form("GET"),),
    "login": (
        Form(
            "POST",
            {
                "username": Field("sign-in", "creator@example.com"),
                "password": Field("sign-in", "kajaccess-demo"),
                **NEXT,
            },
            (AuthenticationForm,),
            refused=frozenset({200, 429}),
            changes=True,
            user="nobody",
        ),
    ),
    "logout": (Form("POST", changes=True, user="leaving"),),
    "library:index": (Form("GET", user="ada"),),
    "library:product": (Form("GET", user="ada"),),
    "library:lesson": (Form("GET", user="ada"),),
    "library:complete": (Form("POST", user="ada", changes=True),),
    "contacts:list": (
        Form(
            "GET",
            {
                "q": Field("search", "ada"),
                "offer": Field("optional id", model=Offer),
                "product": Field("optional id", model=Product),
                "tag": Field("optional id", model=Tag),
                "access": Field("optional choice"),
                "billing": Field("optional choice"),
                **VIEW,
            },
            (ContactFilter,),
        ),
    ),
    "contacts:profile": (Form("GET"),),
    "contacts:preview": (Form("GET"),),
    "contacts:products": (Form("GET"),),
    "contacts:more_info": (Form("GET"),),
    "contacts:purchases": (Form("GET"),),
    "contacts:activity": (Form("GET", {"page": Field("lenient")}),),
    "contacts:grant_offer_form": (Form("GET", NEXT),),
    "contacts:grant_offer": (
        Form(
            "POST",
            {
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
                "send_email": Field("lenient", "on"),
                **NEXT,
            },
            (GrantOfferForm,),
            changes=True,
        ),
    ),
    "contacts:revoke_confirm": (Form("GET", NEXT),),
    "contacts:revoke_product_confirm": (Form("GET", NEXT),),
    "contacts:restore_confirm": (Form("GET", NEXT, ids=RESTORABLE),),
    "contacts:restore_product_confirm": (Form("GET", NEXT, ids=PARTLY_REVOKED),),
    "contacts:revoke": CHANGE_ACCESS,
    "contacts:revoke_product": CHANGE_ACCESS,
    "contacts:restore": RESTORE,
    "contacts:restore_product": RESTORE_PRODUCT,
    "bulk:preview": _bulk_forms(start=False),
    "bulk:start": _bulk_forms(start=True),
    "bulk:export": (Form("GET", SELECTION, (SelectionForm,)), Form("POST", SELECTION)),
    "bulk:history": (Form("GET", {"page": Field("lenient")}),),
    "bulk:detail": (Form("GET"),),
    "bulk:undo_confirm": (Form("GET"),),
    "bulk:undo": (
        Form("POST", {**REASON, "confirm_count": Field("lenient")}, (ConfirmForm,), changes=True),
    ),
    "products:list": (Form("GET"),),
    "products:progress": _progress({**PROGRESS, **VIEW}),
    "products:progress_csv": _progress(PROGRESS),
    "products:offers": (Form("GET"),),
    "products:offer_create": (
        Form("POST", {"title": _line("Fuzz Course"), **OFFER_FIELDS}, OFFER_CLASSES, changes=True),
    ),
    "products:offer_edit": (
        Form("POST", {"title": _line("Bootcamp"), **OFFER_FIELDS}, OFFER_CLASSES, changes=True),
    ),
    "products:offer_changes": (
        Form(
            "GET",
            {"products": Field("optional id", lambda w: [w["ids"]["product_id"]], Product, True)},
            (OfferProductsForm,),
        ),
    ),
    "products:offer_delete": (Form("GET"), Form("POST", changes=True)),
    "products:offer_restore": (Form("POST"),),
    "purchases:activity": (
        Form(
            "GET",
            {
                "kind": Field("optional choice"),
                "actor_kind": Field("optional choice"),
                "page": Field("lenient"),
            },
            (ActivityFilter,),
        ),
    ),
    "billing:subscription": (Form("GET", NEXT),),
    "billing:cancel": (
        Form(
            "POST",
            {"when": Field("choice", "date"), "on": Field("date", IN_A_MONTH), **NEXT},
            (CancelPaymentsForm,),
            changes=True,
        ),
    ),
    "billing:pause": (
        Form(
            "POST",
            {"how": Field("choice", "until"), "until": Field("date", IN_A_MONTH), **NEXT},
            (PausePaymentsForm,),
            changes=True,
        ),
    ),
    "billing:stop_cancellation": (Form("POST", NEXT),),
    "billing:resume": (Form("POST", NEXT),),
    "automations:list": (
        Form(
            "POST",
            {
                "trigger": Field("choice", "tag_added"),
                "tag_name": _line("Fuzzed"),
                "trigger_offer": Field("optional id", model=Offer),
                "action": Field("choice", "grant_offer"),
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
            },
            (AutomationForm,),
            changes=True,
        ),
        # Set off by an offer: the offer that sets it off is required.
        Form(
            "POST",
            {
                "trigger": Field("choice", "offer_granted"),
                "tag_name": Field("optional line"),
                "trigger_offer": Field("id", lambda w: w["ids"]["offer_id"], Offer),
                "action": Field("choice", "revoke_offer"),
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
            },
            changes=True,
            only=("trigger_offer", "tag_name"),
        ),
    ),
    "automations:pause": (Form("POST", changes=True),),
    "automations:resume": (Form("POST"),),
    "automations:delete": (Form("GET"), Form("POST", changes=True)),
}


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
    actor = Actor.creator(creator)
    linus = Contact.objects.filter(site=site).exclude(pk__in=[ada.pk, grace.pk]).first()
    bootcamp = Offer.objects.get(pk=world["ids"]["offer_id"])
    partly = services.grant_offer(contact=linus, offer=bootcamp, actor=actor).obj
    advanced = Product.objects.get(pk=world["ids"]["product_id"])
    services.revoke_product(grant=partly, product=advanced, actor=actor)
    return {
        **world,
        "ids": {
            **world["ids"],
            "grace_id": grace.pk,
            "revoked_grant_id": revoked.pk,
            "partly_contact_id": linus.pk,
            "partly_grant_id": partly.pk,
        },
        "bootcamp_products": list(bootcamp.products.values_list("pk", flat=True)),
        "offer_to_grant": Offer.objects.live().filter(site=site).exclude(pk__in=held).first().pk,
        "other site": {
            model: model.objects.filter(site=other_site).first().pk
            for model in (Offer, Product, Tag, Contact)
        },
        "clients": {"creator": client_for(creator), "ada": client_for(world["ada"])},
    }


def snapshot() -> dict:
    """Every model's row count and a checksum of its rows."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table, pk = (connection.ops.quote_name(name) for name in model_table(model))
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608
            rows = cursor.fetchall()
            state[model._meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def model_table(model) -> tuple[str, str]:
    return model._meta.db_table, model._meta.pk.column


def _value(spec: Field, w: dict):
    value = spec.valid(w) if callable(spec.valid) else spec.valid
    return [str(item) for item in value] if spec.many else value


def _hostile(spec: Field, name: str, w: dict):
    value = HOSTILE[name]
    if name == "other site":
        value = str(w["other site"][spec.model or Contact])
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
    """Each form of each URL: the valid one, then one field at a time made hostile."""
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
        check = must_refuse or form.method == "GET"
        try:
            response, changed = _try(fuzzed, form, url, data, i % 2 == 1, before, check)
        except Exception as error:
            error.add_note(f"{form.method} {name} {case}")
            raise
        status = response.status_code
        if status >= 500:
            failures.append((name, case, status))
        elif must_refuse and status not in form.refused:
            failures.append((name, case, f"{status}, not refused"))
        elif must_refuse and not _says_why(response):
            failures.append((name, case, f"{status} without a message"))
        elif (must_refuse or form.method == "GET") and changed:
            failures.append((name, case, "changed something"))
    assert not failures, "\n".join(" ".join(map(str, failure)) for failure in failures)
