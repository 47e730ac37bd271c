"""Settings > Team: owners and administrators add, invite, change, suspend and remove
members; the owner hands the site over only with their password; every change is on the
Activity tab."""

import html
import re
import threading
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kajaccess.actors import Actor
from kajaccess.models import SiteMembership, TeamEvent
from kajaccess.team import services
from kajaccess.team.tokens import InvitationTokenGenerator
from purchases.access import services as access
from tests.factories import (
    ContactFactory,
    GrantFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
Role = SiteMembership.Role
Kind = TeamEvent.Kind


@pytest.fixture
def team():
    site = SiteFactory(name="Demo Academy", slug="demo")
    owner = MembershipFactory(site=site, user=UserFactory(email="casey@example.com"))
    admin = MembershipFactory(
        site=site, user=UserFactory(email="avery@example.com", first_name="Avery"), role=Role.ADMIN
    )
    assistant = MembershipFactory(
        site=site, user=UserFactory(email="val@example.com"), role=Role.ASSISTANT
    )
    return {"site": site, "owner": owner, "admin": admin, "assistant": assistant}


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def events(site) -> list[tuple[str, str]]:
    return list(
        TeamEvent.objects.filter(site=site).order_by("pk").values_list("kind", "member_email")
    )


def invitation_link() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://testserver(/accounts/invitation/\S+/)", message.body).group(1)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a request leaves for after its commit, such as sending an email."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def add(committed):
    def add(client, email, role="assistant", name="", follow=False):
        with committed():
            data = {"email": email, "role": role, "name": name}
            return client.post(reverse("team:list"), data, follow=follow)

    return add


# --- The list -------------------------------------------------------------------------


def test_the_team_page_lists_each_member_with_role_sites_status_and_last_sign_in(team):
    other = MembershipFactory(user=team["admin"].user, site=SiteFactory(name="Side Project"))
    MembershipFactory(user=team["owner"].user, site=other.site, role=Role.ADMIN)
    team["assistant"].user.last_login = timezone.now()
    team["assistant"].user.save()
    secret = MembershipFactory(user=team["admin"].user, site=SiteFactory(name="Secret School"))
    html = client_for(team["owner"]).get(reverse("team:list")).content.decode()
    rows = {
        email: html[html.index(email) : html.index("</tr>", html.index(email))]
        for email in ("casey@example.com", "avery@example.com", "val@example.com")
    }
    assert html.index("casey@example.com") < html.index("avery@example.com")  # owner first
    assert "Owner" in rows["casey@example.com"] and "(you)" in html
    assert "Demo Academy, Side Project" in rows["avery@example.com"]
    assert secret.site.name not in html  # a site the viewer is not on is not theirs to see
    assert "Active" in rows["val@example.com"] and "Never" in rows["avery@example.com"]
    assert "Never" not in rows["val@example.com"]
    assert 'aria-label="Members"' in html and "<h1>Team</h1>" in html


def test_settings_is_in_the_user_menu_of_owners_and_administrators_only(team):
    for name in ("owner", "admin"):
        html = client_for(team[name]).get(reverse("contacts:list")).content.decode()
        assert f'href="{reverse("team:list")}"' in html and "Settings: Team" in html
    html = client_for(team["assistant"]).get(reverse("contacts:list")).content.decode()
    assert "Settings: Team" not in html


def test_an_assistant_is_turned_away_in_the_products_words(team, add):
    client = client_for(team["assistant"])
    response = client.get(reverse("team:list"))
    assert response.status_code == 403
    assert (
        "Your role, Assistant, cannot manage the team. Ask the site's owner or an administrator."
        in html.unescape(response.content.decode())
    )
    assert add(client, "new@example.com").status_code == 403
    remove_url = reverse("team:remove", args=[team["admin"].pk])
    assert client.post(remove_url).status_code == 403
    assert SiteMembership.objects.filter(pk=team["admin"].pk).exists()
    assert not get_user_model().objects.filter(email="new@example.com").exists()


# --- Adding and inviting --------------------------------------------------------------


def test_an_existing_account_is_added_and_told_by_email(team, add):
    customer = UserFactory(email="Sam@Example.com")
    admin = client_for(team["admin"])
    response = add(admin, "sam@example.com", "admin")
    assert response.status_code == 302 and response.url == reverse("team:list")
    membership = SiteMembership.objects.get(site=team["site"], user=customer)
    assert membership.role == Role.ADMIN and membership.invited_at is None
    assert events(team["site"]) == [(Kind.ADDED, "Sam@Example.com")]
    (message,) = mail.outbox
    assert message.to == ["Sam@Example.com"] and "Demo Academy" in message.subject
    page = admin.get(reverse("team:list")).content.decode()
    assert "Sam@Example.com is now on the team." in page


def test_a_new_email_gets_an_invitation_that_sets_a_password_and_signs_in(team, add, client):
    response = add(client_for(team["owner"]), "newbie@example.com", name="Nova Newbie")
    assert response.status_code == 302
    user = get_user_model().objects.get(email="newbie@example.com")
    assert not user.has_usable_password() and user.get_full_name() == "Nova Newbie"
    assert events(team["site"]) == [(Kind.INVITED, "newbie@example.com")]
    assert mail.outbox[0].to == ["newbie@example.com"]
    body = mail.outbox[0].body.replace("\xa0", " ")
    assert "as Assistant" in body and "expires in 1 week" in body
    page = client_for(team["owner"]).get(reverse("team:list")).content.decode()
    assert "Invited" in page and "Send invitation again" in page

    link = invitation_link()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Set your password" in form.content.decode()
    assert "newbie@example.com" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    password = {"new_password1": "a-long-Pass-phrase-9", "new_password2": "a-long-Pass-phrase-9"}
    done = client.post(set_url, password, follow=True)
    assert done.redirect_chain[-1][0] == reverse("contacts:list")
    assert "Welcome to the team" in done.content.decode()
    assert int(client.session["_auth_user_id"]) == user.pk
    assert (
        Client()
        .post(
            reverse("login"),
            {"username": "newbie@example.com", "password": password["new_password1"]},
        )
        .status_code
        == 302
    )


def test_an_invitation_link_works_once(team, add):
    add(client_for(team["owner"]), "once@example.com")
    link = invitation_link()
    first = Client()
    set_url = first.get(link, follow=True).redirect_chain[-1][0]
    password = {"new_password1": "a-long-Pass-phrase-9", "new_password2": "a-long-Pass-phrase-9"}
    first.post(set_url, password)
    again = Client().get(link, follow=True)
    assert again.status_code == 404
    assert "This invitation no longer works" in again.content.decode()


def test_an_invitation_link_expires(team, add, monkeypatch, settings):
    settings.TEAM_INVITATION_TIMEOUT = 60 * 60
    add(client_for(team["owner"]), "late@example.com")
    link = invitation_link()
    later = datetime.now() + timedelta(hours=2)
    monkeypatch.setattr(InvitationTokenGenerator, "_now", lambda self: later)
    response = Client().get(link, follow=True)
    assert response.status_code == 404
    assert "Ask whoever invited you to send it again" in response.content.decode()
    assert not get_user_model().objects.get(email="late@example.com").has_usable_password()


def test_an_expired_invitation_says_so_and_can_be_sent_again(team, add, committed, settings):
    settings.TEAM_INVITATION_TIMEOUT = 60
    owner = client_for(team["owner"])
    add(owner, "slow@example.com")
    membership = SiteMembership.objects.get(user__email="slow@example.com")
    SiteMembership.objects.filter(pk=membership.pk).update(
        invited_at=timezone.now() - timedelta(minutes=5)
    )
    assert "Invitation expired" in owner.get(reverse("team:list")).content.decode()
    mail.outbox.clear()
    with committed():
        response = owner.post(reverse("team:resend_invitation", args=[membership.pk]), **HTMX)
    assert response.status_code == 200
    assert "A new invitation is on its way to slow@example.com." in response.content.decode()
    assert len(mail.outbox) == 1 and Client().get(invitation_link()).status_code == 302
    assert events(team["site"])[-1] == (Kind.INVITATION_SENT, "slow@example.com")
    # Someone who already joined needs no invitation.
    joined = owner.post(reverse("team:resend_invitation", args=[team["assistant"].pk]), **HTMX)
    assert "has already joined" in joined.content.decode() and len(mail.outbox) == 1


def test_a_password_reset_link_is_not_an_invitation(team, add):
    from django.contrib.auth.tokens import default_token_generator

    add(client_for(team["owner"]), "guest@example.com")
    link = invitation_link()
    user = get_user_model().objects.get(email="guest@example.com")
    forged = link.rsplit("/", 2)[0] + f"/{default_token_generator.make_token(user)}/"
    assert Client().get(forged, follow=True).status_code == 404


def test_adding_someone_already_on_the_team_changes_nothing(team, add):
    response = add(client_for(team["owner"]), "VAL@example.com", "admin", follow=True)
    assert "val@example.com is already on the team." in response.content.decode()
    team["assistant"].refresh_from_db()
    assert team["assistant"].role == Role.ASSISTANT
    assert events(team["site"]) == [] and mail.outbox == []


@pytest.mark.parametrize(
    "data, error",
    [
        (
            {"email": "x" * 10_000 + "@example.com", "role": "assistant"},
            "Keep it to 254 characters or fewer",
        ),
        ({"email": "not an email", "role": "assistant"}, "Enter a valid email address."),
        ({"email": "", "role": "assistant"}, "Enter the email address of the person to add."),
        ({"email": "ok@example.com", "role": "overlord"}, "Choose one of the options in the list."),
        ({"email": "ok@example.com", "role": "owner"}, "Choose one of the options in the list."),
        (
            {"email": "ok@example.com", "role": "assistant", "name": "n" * 151},
            "Keep it to 150 characters",
        ),
    ],
    ids=["long-email", "bad-email", "no-email", "unknown-role", "owner-role", "long-name"],
)
def test_bad_input_to_add_a_member_is_refused_with_a_message(team, data, error):
    users = get_user_model().objects.count()
    response = client_for(team["owner"]).post(reverse("team:list"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert get_user_model().objects.count() == users
    assert SiteMembership.objects.count() == 3 and events(team["site"]) == []
    assert mail.outbox == []


# --- Roles ----------------------------------------------------------------------------


def test_an_administrator_changes_a_role(team):
    url = reverse("team:role", args=[team["assistant"].pk])
    response = client_for(team["admin"]).post(url, {"role": "admin"}, **HTMX)
    assert response.status_code == 200
    assert "val@example.com&#x27;s role is now Administrator." in response.content.decode()
    assert response.headers["HX-Trigger"].count("teamChanged") == 1
    team["assistant"].refresh_from_db()
    assert team["assistant"].role == Role.ADMIN
    event = TeamEvent.objects.get(site=team["site"])
    assert (event.kind, event.actor, event.details) == (
        Kind.ROLE_CHANGED,
        team["admin"].user,
        {"from": "assistant", "to": "admin"},
    )
    # The same role again changes nothing and says so.
    again = client_for(team["admin"]).post(url, {"role": "admin"}, follow=True)
    assert "role is already Admin" in again.content.decode()
    assert TeamEvent.objects.count() == 1


@pytest.mark.parametrize("role", ["", "overlord", "owner", "x" * 10_000])
def test_an_unknown_role_is_refused(team, role):
    url = reverse("team:role", args=[team["assistant"].pk])
    response = client_for(team["owner"]).post(url, {"role": role})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a role." in html or "Choose one of the roles in the list." in html
    team["assistant"].refresh_from_db()
    assert team["assistant"].role == Role.ASSISTANT and events(team["site"]) == []


# --- The owner ------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["owner", "admin"])
def test_nobody_removes_suspends_or_demotes_the_owner(team, by):
    client = client_for(team[by])
    owner = team["owner"]
    role = client.post(reverse("team:role", args=[owner.pk]), {"role": "assistant"})
    suspend = client.post(reverse("team:suspend", args=[owner.pk]), **HTMX)
    remove = client.post(reverse("team:remove", args=[owner.pk]), **HTMX)
    assert (role.status_code, suspend.status_code, remove.status_code) == (400, 400, 400)
    assert "The owner&#x27;s role changes only when the owner transfers" in role.content.decode()
    assert "The owner cannot be suspended" in suspend.content.decode()
    assert "The owner cannot be removed" in remove.content.decode()
    owner.refresh_from_db()
    assert (owner.role, owner.status) == (Role.OWNER, SiteMembership.Status.ACTIVE)
    assert events(team["site"]) == []


def test_the_owners_row_offers_no_changes(team):
    html = client_for(team["admin"]).get(reverse("team:list")).content.decode()
    owner_row = html[html.index(f'id="member-{team["owner"].pk}"') :]
    owner_row = owner_row[: owner_row.index("</tr>")]
    assert "Remove" not in owner_row and "Suspend" not in owner_row
    assert "<select" not in owner_row
    assert reverse("team:transfer", args=[team["admin"].pk]) not in html  # only the owner's


def test_nobody_changes_themselves(team):
    client = client_for(team["admin"])
    me = team["admin"]
    role = client.post(reverse("team:role", args=[me.pk]), {"role": "assistant"})
    suspend = client.post(reverse("team:suspend", args=[me.pk]), **HTMX)
    remove = client.post(reverse("team:remove", args=[me.pk]), **HTMX)
    assert "You cannot change your own role." in role.content.decode()
    assert "You cannot suspend yourself." in suspend.content.decode()
    assert "You cannot remove yourself." in remove.content.decode()
    me.refresh_from_db()
    assert (me.role, me.status) == (Role.ADMIN, SiteMembership.Status.ACTIVE)


def test_the_owner_transfers_ownership_to_an_administrator_with_their_password(team):
    url = reverse("team:transfer", args=[team["admin"].pk])
    client = client_for(team["owner"])
    popup = client.get(url, **HTMX).content.decode()
    assert "Make avery@example.com the owner of Demo Academy?" in popup
    response = client.post(url, {"password": "kajaccess-demo"}, **HTMX)
    assert response.status_code == 200
    assert "avery@example.com is now the owner of Demo Academy" in response.content.decode()
    team["owner"].refresh_from_db()
    team["admin"].refresh_from_db()
    assert (team["owner"].role, team["admin"].role) == (Role.ADMIN, Role.OWNER)
    event = TeamEvent.objects.get(site=team["site"])
    assert event.kind == Kind.OWNERSHIP_TRANSFERRED and event.member == team["admin"].user
    assert event.details == {"from_owner": "casey@example.com"}
    # The former owner is an administrator now, and the new owner can be changed by no one.
    demote = client.post(reverse("team:role", args=[team["admin"].pk]), {"role": "assistant"})
    assert demote.status_code == 400


@pytest.mark.parametrize("password", ["wrong", "", "x" * 10_000])
def test_a_wrong_password_transfers_nothing(team, password):
    url = reverse("team:transfer", args=[team["admin"].pk])
    response = client_for(team["owner"]).post(url, {"password": password}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "That is not your password. Nothing was changed." in html
        or "Enter your password to transfer ownership." in html
        or "Keep it to 4096 characters or fewer" in html
    )
    assert 'id="dialog-title"' in html  # the popup again, with the message inside
    team["owner"].refresh_from_db()
    team["admin"].refresh_from_db()
    assert (team["owner"].role, team["admin"].role) == (Role.OWNER, Role.ADMIN)
    assert events(team["site"]) == []


def test_ownership_goes_only_to_an_active_administrator_and_only_from_the_owner(team):
    owner = client_for(team["owner"])
    to_assistant = reverse("team:transfer", args=[team["assistant"].pk])
    response = owner.post(to_assistant, {"password": "kajaccess-demo"}, **HTMX)
    assert response.status_code == 400
    assert "Ownership goes to an active administrator" in response.content.decode()
    third = MembershipFactory(site=team["site"], role=Role.ADMIN)
    by_admin = client_for(team["admin"]).post(
        reverse("team:transfer", args=[third.pk]), {"password": "kajaccess-demo"}, **HTMX
    )
    assert by_admin.status_code == 403
    assert "cannot change or remove the site's owner" in html.unescape(by_admin.content.decode())
    assert SiteMembership.objects.get(site=team["site"], role=Role.OWNER) == team["owner"]
    assert events(team["site"]) == []


# --- Suspending and removing ----------------------------------------------------------


def test_a_suspended_member_cannot_use_the_site_and_their_actions_keep_their_name(team):
    site = team["site"]
    product = ProductFactory(site=site, title="Python Basics")
    grant = GrantFactory(offer=OfferFactory(site=site, products=[product]))
    access.revoke_grant(grant=grant, actor=Actor.creator(team["assistant"].user), reason="Refund")
    assistant = client_for(team["assistant"])
    assert assistant.get(reverse("contacts:list")).status_code == 200

    owner = client_for(team["owner"])
    url = reverse("team:suspend", args=[team["assistant"].pk])
    popup = owner.get(url, **HTMX).content.decode()
    assert "Suspend val@example.com?" in popup and "Suspend member" in popup
    response = owner.post(url, **HTMX)
    assert "val@example.com is suspended" in response.content.decode()
    assert assistant.get(reverse("contacts:list")).status_code == 404
    assert "Suspended" in owner.get(reverse("team:list")).content.decode()
    activity = owner.get(reverse("purchases:activity")).content.decode()
    assert "<td>val@example.com</td>" in activity  # the revoke still names them

    again = owner.post(url, **HTMX)
    assert "already suspended" in again.content.decode()
    owner.post(reverse("team:reactivate", args=[team["assistant"].pk]), **HTMX)
    assert assistant.get(reverse("contacts:list")).status_code == 200
    assert events(site) == [
        (Kind.SUSPENDED, "val@example.com"),
        (Kind.REACTIVATED, "val@example.com"),
    ]


def test_a_removed_member_loses_the_site_and_keeps_their_account_and_name(team):
    site = team["site"]
    contact = ContactFactory(site=site)
    grant = GrantFactory(
        offer=OfferFactory(site=site, products=[ProductFactory(site=site)]), contact=contact
    )
    access.revoke_grant(grant=grant, actor=Actor.creator(team["assistant"].user))
    owner = client_for(team["owner"])
    url = reverse("team:remove", args=[team["assistant"].pk])
    assert "Remove val@example.com from the team?" in owner.get(url).content.decode()
    response = owner.post(url)
    assert response.status_code == 302 and response.url == reverse("team:list")
    assert not SiteMembership.objects.filter(pk=team["assistant"].pk).exists()
    assert get_user_model().objects.filter(email="val@example.com").exists()
    assert client_for(team["assistant"]).get(reverse("contacts:list")).status_code == 404
    assert "<td>val@example.com</td>" in owner.get(reverse("purchases:activity")).content.decode()
    event = TeamEvent.objects.get(site=site)
    assert (event.kind, event.details) == (Kind.REMOVED, {"role": "assistant", "status": "active"})
    # Removing again finds nobody: a 404, and nothing more is written.
    assert owner.post(url).status_code == 404
    assert TeamEvent.objects.count() == 1


def test_removing_twice_through_the_service_says_so(team):
    actor = Actor.creator(team["owner"].user)
    first = services.remove_member(membership=team["assistant"], actor=actor)
    second = services.remove_member(membership=team["assistant"], actor=actor)
    assert (first.changed, second.changed) == (True, False)
    assert second.message == "That member is no longer on the team."
    assert TeamEvent.objects.count() == 1


# --- Another site's members -----------------------------------------------------------


def test_a_member_of_another_site_is_a_404(team):
    stranger = MembershipFactory(role=Role.ASSISTANT, site=MembershipFactory().site)
    client = client_for(team["owner"])
    for name in ("suspend", "remove", "transfer"):
        assert client.get(reverse(f"team:{name}", args=[stranger.pk])).status_code == 404
    for name in ("role", "suspend", "reactivate", "remove", "transfer", "resend_invitation"):
        url = reverse(f"team:{name}", args=[stranger.pk])
        assert client.post(url, {"role": "admin", "password": "kajaccess-demo"}).status_code == 404
    stranger.refresh_from_db()
    assert (stranger.role, stranger.status) == (Role.ASSISTANT, SiteMembership.Status.ACTIVE)
    assert TeamEvent.objects.count() == 0


# --- The Activity tab -----------------------------------------------------------------


def test_the_activity_tab_lists_the_team_changes_for_those_who_manage_the_team(team, add):
    owner = client_for(team["owner"])
    add(owner, "newbie@example.com")
    owner.post(reverse("team:role", args=[team["assistant"].pk]), {"role": "admin"})
    html = owner.get(reverse("purchases:activity")).content.decode()
    section = html[html.index('id="team-activity"') :]
    assert "Team changes" in section
    assert section.index("Role changed") < section.index("Member invited")  # newest first
    assert "Assistant → Admin" in section and "as Assistant" in section
    assert "<td>casey@example.com</td>" in section and "<td>newbie@example.com</td>" in section
    admin = client_for(team["admin"])
    assert "Team changes" in admin.get(reverse("purchases:activity")).content.decode()
    other = MembershipFactory(site=team["site"], role=Role.ASSISTANT)
    assert (
        "Team changes" not in client_for(other).get(reverse("purchases:activity")).content.decode()
    )


def test_the_team_changes_page_on_their_own_and_the_filters_still_work(team):
    actor = Actor.creator(team["owner"].user)
    for n in range(25):
        services.add_member(
            site=team["site"],
            email=f"m{n}@example.com",
            role="assistant",
            actor=actor,
            site_url="/",
        )
    owner = client_for(team["owner"])
    url = reverse("purchases:activity")
    first = owner.get(url).content.decode()
    assert "m24@example.com" in first and "m0@example.com" not in first
    assert "Page 1 of 2" in first
    older = owner.get(url, {"team_page": "2"}, HTTP_HX_TARGET="team-activity", **HTMX)
    part = older.content.decode()
    assert part.strip().startswith('<section id="team-activity"') and "m0@example.com" in part
    filtered = owner.get(url, {"kind": "revoked"}, **HTMX).content.decode()
    assert (
        filtered.strip().startswith('<div id="activity-list"') and "team-activity" not in filtered
    )
    assert owner.get(url, {"kind": "nonsense"}).status_code == 400


def test_the_team_changes_cost_the_activity_tab_two_queries_however_many(
    team, django_assert_max_num_queries
):
    actor = Actor.creator(team["owner"].user)
    for n in range(30):
        services.add_member(
            site=team["site"], email=f"m{n}@example.com", role="admin", actor=actor, site_url="/"
        )
        services.change_role(
            membership=SiteMembership.objects.get(user__email=f"m{n}@example.com"),
            role="assistant",
            actor=actor,
        )
    owner = client_for(team["owner"])
    owner.get(reverse("contacts:list"))
    with django_assert_max_num_queries(8):
        html = owner.get(reverse("purchases:activity"), {"team_page": "2"}).content.decode()
    assert html.count("Role changed") + html.count("Member invited") == 20


# --- At the same moment (PostgreSQL: real row locks) ------------------------------------


def at_once(*works):
    """Run each of `works` in its own thread, released together; return what each gave."""
    barrier = threading.Barrier(len(works))
    results = []

    def run(work):
        try:
            barrier.wait()
            results.append(work())
        except ValidationError as refused:
            results.append(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(works)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_invitations_of_one_email_make_one_member(postgres_only, team):
    actor = Actor.creator(team["owner"].user)
    outcomes = at_once(
        *[
            lambda: services.add_member(
                site=team["site"],
                email="rush@example.com",
                role="assistant",
                actor=actor,
                site_url="http://testserver/",
            )
        ]
        * 8
    )
    assert sum(outcome.changed for outcome in outcomes) == 1
    assert get_user_model().objects.filter(email="rush@example.com").count() == 1
    assert events(team["site"]) == [(Kind.INVITED, "rush@example.com")]
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transfers_at_once_leave_one_owner(postgres_only, team):
    second = MembershipFactory(site=team["site"], role=Role.ADMIN)
    actor = Actor.creator(team["owner"].user)

    def to(membership):
        return lambda: services.transfer_ownership(
            membership=SiteMembership.objects.get(pk=membership.pk),
            actor=actor,
            password="kajaccess-demo",
        )

    results = at_once(*[to(team["admin"]), to(second)] * 4)
    done = [r for r in results if not isinstance(r, ValidationError) and r.changed]
    assert len(done) == 1
    refused = {" ".join(r.messages) for r in results if isinstance(r, ValidationError)}
    assert refused <= {"Only the owner can transfer ownership."}
    assert SiteMembership.objects.filter(site=team["site"], role=Role.OWNER).count() == 1
    assert events(team["site"]) == [(Kind.OWNERSHIP_TRANSFERRED, done[0].obj.user.email)]
