"""Adding a contact and editing its name and email, through the services."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import Contact, Tag
from contacts.services import EmailTaken, StaleContact, contact_create, contact_update
from kajaccess.actors import Actor
from purchases.access.enrolment import contact_add
from purchases.access.selectors import contact_activity, has_access
from purchases.models import AccessEvent, Grant
from tests.academy import build_academy
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def actor(academy):
    return Actor.creator(academy.creator, role="owner")


@pytest.mark.parametrize("email", ["ADA@example.com", "  ada@EXAMPLE.com  ", "Ada@Example.Com"])
def test_an_email_already_on_the_site_in_any_case_is_refused_and_nothing_is_created(
    academy, actor, email
):
    before = Contact.objects.count(), AccessEvent.objects.count()
    with pytest.raises(EmailTaken) as refused:
        contact_add(site=academy.site, email=email, name="Ada Again", actor=actor)
    assert refused.value.contact == academy.ada
    assert "ada@example.com is already a contact here" in refused.value.message_dict["email"][0]
    assert (Contact.objects.count(), AccessEvent.objects.count()) == before


def test_the_same_email_on_another_site_is_no_obstacle(academy, actor):
    other_email = academy.other_ada.email
    contact = contact_create(site=academy.site, email=other_email.upper(), actor=actor)
    assert contact.site == academy.site


def test_whitespace_is_trimmed_and_a_name_is_one_line(academy, actor):
    contact = contact_create(
        site=academy.site, email="  new@Example.COM ", name="  Mary   Somerville ", actor=actor
    )
    assert (contact.email, contact.name) == ("new@example.com", "Mary Somerville")


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@b@c", "x" * 250 + "@example.com"])
def test_a_bad_email_is_refused(academy, actor, email):
    with pytest.raises(ValidationError) as refused:
        contact_create(site=academy.site, email=email, actor=actor)
    assert "email" in refused.value.message_dict
    assert not Contact.objects.filter(site=academy.site, name="").exists()


def test_tags_existing_and_new_are_put_on_the_contact_and_the_addition_is_in_its_activity(
    academy, actor
):
    gold = TagFactory(site=academy.site, name="Gold")
    contact = contact_create(
        site=academy.site,
        email="mary@example.com",
        name="Mary",
        tags=[gold],
        new_tag_names=["gold", "Spring cohort"],
        actor=actor,
    )
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Gold", "Spring cohort"]
    assert Tag.objects.filter(site=academy.site, name__iexact="gold").count() == 1
    event = contact_activity(contact).get()
    assert event.kind == AccessEvent.Kind.CONTACT_ADDED
    assert (event.actor, event.actor_role) == (academy.creator, "owner")
    assert event.details["tags"] == ["Gold", "Spring cohort"]


def test_another_sites_tag_is_refused(academy, actor):
    foreign = TagFactory(site=academy.other_ada.site, name="Foreign")
    with pytest.raises(ValidationError):
        contact_create(site=academy.site, email="mary@example.com", tags=[foreign], actor=actor)
    assert not Contact.objects.filter(email="mary@example.com").exists()


def test_an_offer_is_granted_at_once(academy, actor):
    contact, granted = contact_add(
        site=academy.site, email="mary@example.com", offer=academy.bootcamp, actor=actor
    )
    assert granted.changed and granted.obj.offer == academy.bootcamp
    assert has_access(contact, academy.basics) and has_access(contact, academy.advanced)


def test_an_offer_deleted_meanwhile_is_refused_and_no_contact_is_added(academy, actor):
    shown = academy.bootcamp
    type(shown).objects.filter(pk=shown.pk).update(deleted_at=timezone.now())
    with pytest.raises(ValidationError) as refused:
        contact_add(site=academy.site, email="mary@example.com", offer=shown, actor=actor)
    assert "was deleted" in refused.value.message_dict["offer"][0]
    assert not Contact.objects.filter(email="mary@example.com").exists()
    assert not Grant.objects.filter(contact__email="mary@example.com").exists()


def test_a_library_sign_in_makes_a_login_and_sends_an_invitation(
    academy, actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(
            site=academy.site,
            email="mary@example.com",
            name="Mary",
            actor=actor,
            library_sign_in=True,
            site_url="http://testserver/",
        )
    user = get_user_model().objects.get(email="mary@example.com")
    assert contact.user == user and not user.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["mary@example.com"]
    assert "http://testserver/accounts/invitation/" in mail.outbox[0].body


def test_without_a_library_sign_in_no_login_and_no_email(
    academy, actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(site=academy.site, email="mary@example.com", actor=actor)
    assert contact.user is None and mail.outbox == []
    assert not get_user_model().objects.filter(email="mary@example.com").exists()


# --- Editing ---------------------------------------------------------------------------


def _edit(contact, actor, **changes):
    return contact_update(
        contact=contact,
        name=changes.get("name", contact.name),
        email=changes.get("email", contact.email),
        shown_name=contact.name,
        shown_email=contact.email,
        actor=actor,
    )


def test_an_edit_is_recorded_with_old_and_new_values(academy, actor):
    old_name, old_email = academy.ada.name, academy.ada.email
    outcome = _edit(academy.ada, actor, name="Augusta Ada King", email="augusta@example.com")
    assert outcome.changed
    academy.ada.refresh_from_db()
    assert (academy.ada.name, academy.ada.email) == ("Augusta Ada King", "augusta@example.com")
    event = contact_activity(academy.ada).first()
    assert event.kind == AccessEvent.Kind.CONTACT_EDITED
    assert event.details == {
        "name": [old_name, "Augusta Ada King"],
        "email": [old_email, "augusta@example.com"],
    }


def test_an_edit_that_changes_nothing_writes_nothing(academy, actor):
    before = AccessEvent.objects.count()
    outcome = _edit(academy.ada, actor, name=f"  {academy.ada.name} ")
    assert not outcome.changed
    assert AccessEvent.objects.count() == before


@pytest.mark.parametrize("email", ["GRACE@example.com", " grace@example.com"])
def test_an_email_another_contact_has_is_refused_and_nothing_changes(academy, actor, email):
    before = AccessEvent.objects.count()
    with pytest.raises(EmailTaken) as refused:
        _edit(academy.ada, actor, email=email, name="Renamed")
    assert refused.value.contact == academy.grace
    academy.ada.refresh_from_db()
    assert academy.ada.email == "ada@example.com" and academy.ada.name != "Renamed"
    assert AccessEvent.objects.count() == before


def test_a_contact_may_change_the_case_of_its_own_email(academy, actor):
    outcome = _edit(academy.ada, actor, email="Ada@example.com")
    assert outcome.changed
    academy.ada.refresh_from_db()
    assert academy.ada.email == "Ada@example.com"


def test_a_contact_changed_meanwhile_is_not_overwritten(academy, actor):
    shown_name, shown_email = academy.ada.name, academy.ada.email
    Contact.objects.filter(pk=academy.ada.pk).update(name="Changed Meanwhile")
    with pytest.raises(StaleContact) as refused:
        contact_update(
            contact=academy.ada,
            name="Mine",
            email=shown_email,
            shown_name=shown_name,
            shown_email=shown_email,
            actor=actor,
        )
    assert "Changed Meanwhile" in refused.value.message
    academy.ada.refresh_from_db()
    assert academy.ada.name == "Changed Meanwhile"
