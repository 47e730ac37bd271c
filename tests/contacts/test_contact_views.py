"""`Add contact` and `Edit contact`: the popups, their refusals and what they change."""

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Contact
from purchases.models import AccessEvent, Grant
from tests.academy import build_academy
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_contacts_tab_offers_add_contact_and_its_popup_opens(creator_client, academy):
    tab = page_text(creator_client.get(reverse("contacts:list")))
    assert ">Add contact</a>" in tab
    popup = creator_client.get(reverse("contacts:add"), **HTMX)
    assert popup.status_code == 200
    text = page_text(popup)
    assert "<dialog" in text and "Python Bootcamp" in text and "VIP" in text
    # Without JavaScript it is a page of its own.
    page = creator_client.get(reverse("contacts:add"))
    assert "<dialog" not in page_text(page) and 'id="dialog-title"' in page_text(page)


def test_adding_a_contact_with_an_offer_and_the_grant_email(
    creator_client, academy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(
            reverse("contacts:add"),
            {
                "email": "Mary@Example.com",
                "name": "Mary Somerville",
                "new_tags": "Spring",
                "offer": academy.bootcamp.pk,
                "send_email": "on",
            },
            **HTMX,
        )
    assert response.status_code == 200
    assert response["HX-Trigger"].count("accessChanged")
    mary = Contact.objects.get(site=academy.site, email="Mary@example.com")
    assert Grant.objects.filter(contact=mary, offer=academy.bootcamp).exists()
    assert [m.to for m in mail.outbox] == [["Mary@example.com"]]
    text = page_text(response)
    assert "Mary Somerville is added to your contacts." in text
    assert "An email is on its way to them." in text


def test_without_the_grant_email_none_is_sent(
    creator_client, academy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(
            reverse("contacts:add"), {"email": "mary@example.com", "offer": academy.bootcamp.pk}
        )
    assert response.status_code == 302
    assert Grant.objects.filter(contact__email="mary@example.com").exists()
    assert mail.outbox == []


def test_a_duplicate_email_is_a_400_next_to_the_field_with_a_link_to_that_contact(
    creator_client, academy
):
    before = Contact.objects.count(), Grant.objects.count(), AccessEvent.objects.count()
    response = creator_client.post(
        reverse("contacts:add"),
        {"email": "ADA@example.com", "name": "Typed name", "offer": academy.bootcamp.pk},
        **HTMX,
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "ada@example.com is already a contact here: Ada Lovelace." in text
    assert f'href="{reverse("contacts:profile", args=[academy.ada.pk])}"' in text
    assert 'value="Typed name"' in text
    assert (Contact.objects.count(), Grant.objects.count(), AccessEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"email": ""}, "Enter the contact's email address."),
        ({"email": "nobody"}, "“nobody” is not an email address."),
        ({"email": "m@example.com", "name": "x" * 201}, "A name can be at most 200 characters."),
        ({"email": "m@example.com", "new_tags": "y" * 81}, "A tag name can be at most 80"),
        ({"email": "m@example.com", "offer": "999999"}, "Choose one of your live offers."),
    ],
)
def test_bad_input_is_a_400_with_its_message_and_nothing_is_added(
    creator_client, academy, data, words
):
    before = Contact.objects.count()
    response = creator_client.post(reverse("contacts:add"), data, **HTMX)
    assert response.status_code == 400
    assert words in page_text(response)
    assert Contact.objects.count() == before


def test_an_offer_deleted_after_the_popup_opened_is_refused(creator_client, academy):
    form = {"email": "mary@example.com", "offer": academy.bootcamp.pk}
    academy.bootcamp.deleted_at = academy.bootcamp.created_at
    academy.bootcamp.save(update_fields=["deleted_at"])
    response = creator_client.post(reverse("contacts:add"), form, **HTMX)
    assert response.status_code == 400
    assert not Contact.objects.filter(email="mary@example.com").exists()


# --- Edit contact ----------------------------------------------------------------------


def _edit_form(contact, **changes) -> dict:
    return {
        "name": contact.name,
        "email": contact.email,
        "shown_name": contact.name,
        "shown_email": contact.email,
        **changes,
    }


def test_the_profile_and_the_preview_offer_edit_contact(creator_client, academy):
    for name in ("contacts:profile", "contacts:preview"):
        text = page_text(creator_client.get(reverse(name, args=[academy.ada.pk])))
        assert reverse("contacts:edit", args=[academy.ada.pk]) in text, name
    popup = page_text(creator_client.get(reverse("contacts:edit", args=[academy.ada.pk]), **HTMX))
    assert 'value="ada@example.com"' in popup and 'name="shown_email"' in popup


def test_an_edit_shows_in_the_activity_with_old_and_new_values(creator_client, academy):
    url = reverse("contacts:edit", args=[academy.ada.pk])
    response = creator_client.post(url, _edit_form(academy.ada, email="augusta@example.com"))
    assert response.status_code == 302
    activity = page_text(creator_client.get(reverse("contacts:activity", args=[academy.ada.pk])))
    assert "Contact details changed" in activity
    assert "ada@example.com</span> → augusta@example.com" in activity


def test_an_edit_on_the_profile_redraws_its_header(creator_client, academy):
    url = reverse("contacts:edit", args=[academy.ada.pk])
    profile = "http://testserver" + reverse("contacts:profile", args=[academy.ada.pk])
    response = creator_client.post(
        url, _edit_form(academy.ada, name="Augusta Ada King"), HTTP_HX_CURRENT_URL=profile, **HTMX
    )
    text = page_text(response)
    assert 'id="profile-header" hx-swap-oob="true"' in text and "<h1>Augusta Ada King</h1>" in text
    assert 'hx-swap-oob="true">Augusta Ada King</span>' in text  # the breadcrumb
    assert "subtabs" not in text  # only what changed, not the profile's navigation


def test_an_email_another_contact_has_is_a_400_and_nothing_changes(creator_client, academy):
    url = reverse("contacts:edit", args=[academy.ada.pk])
    response = creator_client.post(
        url, _edit_form(academy.ada, email="Grace@Example.com", name="Renamed"), **HTMX
    )
    assert response.status_code == 400
    assert "grace@example.com is already a contact here: Grace Hopper." in page_text(response)
    academy.ada.refresh_from_db()
    assert (academy.ada.name, academy.ada.email) == ("Ada Lovelace", "ada@example.com")


def test_a_contact_changed_meanwhile_is_told_not_overwritten(creator_client, academy):
    form = _edit_form(academy.ada, name="Mine")
    Contact.objects.filter(pk=academy.ada.pk).update(name="Theirs")
    url = reverse("contacts:edit", args=[academy.ada.pk])
    response = creator_client.post(url, form, **HTMX)
    assert response.status_code == 409
    text = page_text(response)
    assert "Someone changed this contact while you were editing it" in text
    assert 'name="shown_name" value="Theirs"' in text
    academy.ada.refresh_from_db()
    assert academy.ada.name == "Theirs"
    # Saving again, having been told, goes through.
    again = creator_client.post(url, {**form, "shown_name": "Theirs"})
    assert again.status_code == 302
    academy.ada.refresh_from_db()
    assert academy.ada.name == "Mine"


def test_another_sites_contact_is_a_404(creator_client, academy):
    url = reverse("contacts:edit", args=[academy.other_ada.pk])
    assert creator_client.get(url).status_code == 404
    assert creator_client.post(url, _edit_form(academy.other_ada, name="X")).status_code == 404


def test_a_support_specialist_may_add_and_edit(client, academy):
    member = MembershipFactory(site=academy.site, role="support")
    client.force_login(member.user)
    response = client.post(reverse("contacts:add"), {"email": "mary@example.com"})
    assert response.status_code == 302


def test_a_library_invitation_lets_the_customer_set_a_password_and_open_the_library(
    client, creator_client, academy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        creator_client.post(
            reverse("contacts:add"),
            {"email": "mary@example.com", "offer": academy.bootcamp.pk, "library_sign_in": "on"},
        )
    (invitation,) = mail.outbox
    link = re.search(r"http://testserver(/accounts/invitation/\S+)", invitation.body).group(1)
    client.logout()
    form = client.get(link, follow=True)
    assert "Set your password" in page_text(form)
    password = "a long new passphrase 1"
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": password, "new_password2": password},
        follow=True,
    )
    assert "Welcome to your Library." in page_text(done)
    assert "Python Basics" in page_text(client.get(reverse("library:index")))
