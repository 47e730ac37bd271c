"""In the admin, a row keeps its site: no key to another site's rows can be edited in.

Every registered ModelAdmin is found in `admin.site._registry`, so a new one is covered
the day it is registered. A key "to a site's rows" is any foreign key, one-to-one or
many-to-many whose model leads, through foreign keys, to a Site: its site, contact,
grant, offer, product, subscription, tag or bulk action. This file works that out
on its own, apart from the admin's code, so that a key the admin forgot is still found.
"""

from datetime import datetime
from io import StringIO

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from contacts import services as contact_services
from contacts.models import Contact, Tag
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import Site
from products import services as product_services
from products.models import Lesson, Offer, Product
from purchases.access import services
from purchases.automations.services import create_automation
from purchases.models import AccessEvent, Automation, BulkAction, Grant, Subscription
from purchases.offers.services import add_product_to_offer

pytestmark = pytest.mark.django_db


def path_to_site(model, seen=()) -> str | None:
    """The lookup from a model to its Site ("grant__site"), or None if it has none."""
    if model is Site:
        return "pk"
    for field in model._meta.get_fields():
        if isinstance(field, models.ForeignKey) and field.related_model not in (*seen, model):
            if field.related_model is Site:
                return field.name
            rest = path_to_site(field.related_model, (*seen, model))
            if rest is not None:
                return f"{field.name}__{rest}"
    return None


def keys_to_site_rows(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.ManyToManyField)
        and path_to_site(field.related_model) is not None
    ]


def rows_of(model, site):
    path = path_to_site(model)
    return model.objects.filter(**{path if path != "pk" else "pk": site.pk}).order_by("pk")


@pytest.fixture
def schools():
    """Both demo schools, each with a row of every model a key can point to."""
    call_command("seed_demo", "--contacts", "0", stdout=StringIO())
    demo = Site.objects.get(slug="demo-academy")
    other = Site.objects.get(slug="other-school")
    for site in (demo, other):
        owner = site.memberships.get(role="owner").user
        vault = Offer.objects.create(
            site=site, title="Monthly", price=29, payment_type=Offer.PaymentType.SUBSCRIPTION
        )
        vault.products.set(Product.objects.filter(site=site)[:1])
        contact = Contact.objects.filter(site=site).order_by("pk").first()
        services.grant_offer(
            contact=contact, offer=vault, actor=Actor.customer(None), source=Grant.Source.PURCHASE
        )
        contact_services.tag_get_or_create(site=site, name="Probe")
        create_automation(
            site=site,
            trigger=Automation.Trigger.TAG_ADDED,
            tag_name="Probe",
            action=Automation.Action.GRANT_OFFER,
            offer=vault,
        )
        BulkAction.objects.create(site=site, created_by=owner, action="add_tag")
        api_key_create(
            site=site, name="Probe", scopes=["read"], expires_at=None, actor=Actor.creator(owner)
        )
    return demo, other


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "x")
    client.force_login(user)
    return user


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def a_row(model, site):
    row = rows_of(model, site).first()
    assert row is not None, f"no {model._meta.label} of {site} to try the admin on"
    return row


def test_every_admin_shows_keys_to_a_sites_rows_read_only_on_change(schools, superuser):
    demo, _ = schools
    request = RequestFactory().get("/admin/")
    request.user = superuser
    checked = set()
    for model, model_admin in registered():
        if path_to_site(model) is None and not keys_to_site_rows(model):
            continue
        obj = a_row(model, demo)
        fields = model_admin.get_form(request, obj, change=True).base_fields
        for key in keys_to_site_rows(model):
            assert key.name not in fields, f"{model._meta.label}.{key.name} is editable"
            checked.add(f"{model._meta.label}.{key.name}")
        for inline in model_admin.get_inline_instances(request, obj):
            formset = inline.get_formset(request, obj)
            for key in keys_to_site_rows(inline.model):
                if key.name == formset.fk.name:
                    continue  # the inline's own row above, fixed by the page
                assert key.name not in formset.form.base_fields, (
                    f"{inline.model._meta.label}.{key.name} is editable in {model._meta.label}"
                )
    # The keys the issue names are among those checked.
    assert {
        "contacts.Contact.site",
        "contacts.Tag.site",
        "products.Offer.site",
        "products.Product.site",
        "purchases.Grant.contact",
        "purchases.Grant.offer",
        "purchases.Subscription.grant",
        "purchases.Payment.subscription",
        "purchases.Automation.trigger_tag",
        "purchases.AccessEvent.grant",
    } <= checked


def submitted(form) -> dict:
    """What the browser sends back for a form that is submitted as it was shown."""
    data = {}
    for bound in form:
        widget, value, name = bound.field.widget, bound.value(), bound.html_name
        if isinstance(widget, forms.MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        else:
            data[name] = "" if value is None else str(value)
    return data


def moved(key: models.Field, site: Site):
    """The value of `key` that would move a row to another site's row."""
    target = rows_of(key.related_model, site).values_list("pk", flat=True)
    assert target, f"{site} has no {key.related_model._meta.label} to point to"
    return [str(pk) for pk in target[:1]] if key.many_to_many else str(target[0])


def seconds(row: dict) -> dict:
    # The admin's date and time inputs show whole seconds; a save of a form left as it
    # was drops the microseconds of a time, which is not a move to another site.
    return {
        name: value.replace(microsecond=0) if isinstance(value, datetime) else value
        for name, value in row.items()
    }


def snapshot(model, obj, inlines) -> tuple:
    row = seconds(model.objects.filter(pk=obj.pk).values().get())
    m2m = {
        key.name: sorted(getattr(obj, key.name).values_list("pk", flat=True))
        for key in keys_to_site_rows(model)
        if key.many_to_many
    }
    children = [
        [seconds(child) for child in formset.model.objects.filter(pk__in=formset.queryset).values()]
        for formset in inlines
    ]
    return row, m2m, children, AccessEvent.objects.count()


def test_a_changed_site_contact_grant_or_offer_posted_through_any_change_form_changes_nothing(
    schools, superuser, client
):
    demo, other = schools
    probed = []
    for model, _ in registered():
        if not keys_to_site_rows(model) and path_to_site(model) is None:
            continue
        obj = a_row(model, demo)
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
        )
        page = client.get(url)
        assert page.status_code == 200, url
        formsets = [inline.formset for inline in page.context["inline_admin_formsets"]]
        data = submitted(page.context["adminform"].form)
        for key in keys_to_site_rows(model):
            data[key.name] = moved(key, other)
        for formset in formsets:
            data |= submitted(formset.management_form)
            for form in formset.forms:
                data |= submitted(form)
                for key in keys_to_site_rows(formset.model):
                    if key.name != formset.fk.name:
                        data[form.add_prefix(key.name)] = moved(key, other)
        data["_save"] = "Save"
        before = snapshot(model, obj, formsets)

        response = client.post(url, data)

        assert response.status_code in {200, 302, 403}, (url, response.status_code)
        assert snapshot(model, obj, formsets) == before, url
        probed.append(model._meta.label)
    assert {"contacts.Contact", "purchases.Grant", "products.Offer", "purchases.Automation"} <= set(
        probed
    )


def test_a_contact_still_saves_its_name_in_the_admin_and_keeps_its_site(schools, superuser, client):
    demo, other = schools
    ada = Contact.objects.get(site=demo, email="ada@example.com")
    url = reverse("admin:contacts_contact_change", args=[ada.pk])
    data = submitted(client.get(url).context["adminform"].form)
    for formset in client.get(url).context["inline_admin_formsets"]:
        data |= submitted(formset.formset.management_form)
        for form in formset.formset.forms:
            data |= submitted(form)
    response = client.post(url, data | {"name": "Ada King", "site": str(other.pk), "_save": "Save"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.name, ada.site) == ("Ada King", demo)


@pytest.mark.parametrize(
    ("model", "row", "field", "taken"),
    [
        (Contact, {"email": "ada@example.com"}, "email", "GRACE@example.com"),
        (Tag, {"name": "VIP"}, "name", "trial"),
    ],
)
def test_a_name_the_site_already_uses_is_refused_with_a_message(
    schools, superuser, client, model, row, field, taken
):
    demo, _ = schools
    obj = model.objects.get(site=demo, **row)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    data = submitted(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        data |= submitted(inline.formset.management_form)
        for form in inline.formset.forms:
            data |= submitted(form)
    response = client.post(url, data | {field: taken, "_save": "Save"})
    assert response.status_code == 200
    assert "Please correct the error below." in response.content.decode()
    obj.refresh_from_db()
    assert getattr(obj, field) == row[field]


@pytest.mark.parametrize(
    "model", [Grant, Subscription, AccessEvent, Automation, BulkAction, "purchases.Payment"]
)
def test_rows_only_services_change_cannot_be_added_changed_or_deleted(
    schools, superuser, client, model
):
    from django.apps import apps

    model = apps.get_model(model) if isinstance(model, str) else model
    demo, _ = schools
    obj = a_row(model, demo)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    before = model.objects.filter(pk=obj.pk).values().get()
    assert client.get(reverse(f"{name}_add")).status_code == 403
    change = client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert client.post(reverse(f"{name}_change", args=[obj.pk]), {}).status_code == 403
    assert client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    changelist = client.get(reverse(f"{name}_changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_support_pauses_resumes_and_deletes_automations_through_their_service(
    schools, superuser, client
):
    demo, _ = schools
    automation = Automation.objects.get(site=demo)
    changelist = reverse("admin:purchases_automation_changelist")

    def act(action):
        body = {"action": action, "_selected_action": [automation.pk]}
        return client.post(changelist, body, follow=True).content.decode()

    assert "Paused 1 automation." in act("pause")
    automation.refresh_from_db()
    assert not automation.active
    assert "1 automation needed no change." in act("pause")
    assert "Resumed 1 automation." in act("resume")
    assert "Deleted 1 automation." in act("delete_automations")
    assert not Automation.objects.filter(pk=automation.pk).exists()


# --- The services refuse to put two sites' rows together ---------------------------------


def test_the_services_refuse_to_join_two_sites_rows(schools):
    demo, other = schools
    actor = Actor.support(None)
    ada = Contact.objects.get(site=demo, email="ada@example.com")
    grant = Grant.objects.filter(contact=ada, status="active").first()
    foreign_offer = Offer.objects.filter(site=other).first()
    foreign_product = Product.objects.filter(site=other).first()
    refusals = [
        lambda: services.grant_offer(contact=ada, offer=foreign_offer, actor=actor),
        lambda: services.revoke_product(grant=grant, product=foreign_product, actor=actor),
        lambda: services.restore_access(grant=grant, product=foreign_product, actor=actor),
        lambda: add_product_to_offer(offer=grant.offer, product=foreign_product, actor=actor),
        lambda: create_automation(
            site=demo,
            trigger=Automation.Trigger.TAG_ADDED,
            tag_name="x",
            action=Automation.Action.GRANT_OFFER,
            offer=foreign_offer,
        ),
        lambda: product_services.complete_lesson(
            contact=ada, lesson=Lesson.objects.filter(product=foreign_product).first()
        ),
    ]
    before = (AccessEvent.objects.count(), Grant.objects.count(), Automation.objects.count())
    for refuse in refusals:
        with pytest.raises(ValidationError, match="another site|is not part of"):
            refuse()
    foreign_tag = Tag.objects.get(site=other, name="Probe")
    assert contact_services.add_tag(tag=foreign_tag, contact_ids=[ada.pk], actor=actor) == []
    assert (
        services.grant_offer_to_contacts(offer=foreign_offer, contact_ids=[ada.pk], actor=actor)
        == []
    )
    after = (AccessEvent.objects.count(), Grant.objects.count(), Automation.objects.count())
    assert after == before
    assert not ada.tags.filter(pk=foreign_tag.pk).exists()
