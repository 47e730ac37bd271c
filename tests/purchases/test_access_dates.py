"""Access dates of one grant: `set_access_dates`, the `Edit access dates` popup, and what
the screens and the Library make of a start or an end still to come."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kajaccess.actors import Actor
from products.models import ACCESS_DAYS_MAX
from purchases.access import selectors, services
from purchases.access.states import AccessState, grant_state_of
from purchases.models import AccessEvent, Grant, Subscription

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# An end a month from now, at midnight, as the popup sets it.
END = (timezone.now() + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def frozen(monkeypatch):
    """Set the clock: every check of access, in every module, reads timezone.now."""
    clock = {"now": timezone.now()}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    return clock


def actor(academy) -> Actor:
    return Actor.creator(academy.creator)


def dates_events(grant) -> list[AccessEvent]:
    return list(grant.events.filter(kind=AccessEvent.Kind.ACCESS_DATES_CHANGED).order_by("pk"))


def set_end(academy, grant, end, **kwargs):
    return services.set_access_dates(
        grant=grant, starts_at=grant.starts_at, expires_at=end, actor=actor(academy), **kwargs
    )


# --- The service ---------------------------------------------------------------------------


def test_an_end_date_closes_access_at_its_instant_and_not_a_moment_before(academy, frozen, client):
    grant, basics = academy.bootcamp_grant, academy.basics
    end = frozen["now"] + timedelta(minutes=5)
    set_end(academy, grant, end, reason="Refund agreed")
    grant.refresh_from_db()
    before, at = end - timedelta(microseconds=1), end
    assert selectors.has_access(academy.ada, basics, now=before)
    assert grant_state_of(grant, before) == AccessState.ACTIVE
    assert selectors.access_status(grant, before) is None
    assert not selectors.has_access(academy.ada, basics, now=at)
    notice = selectors.access_status(grant, at)
    assert (notice.label, notice.revoked_by) == ("Access revoked", "Revoked")

    # The Library itself, with no sweep run in between.
    client.force_login(academy.ada.user)
    url = reverse("library:product", args=[basics.pk])
    frozen["now"] = before
    assert client.get(url).status_code == 200
    frozen["now"] = at
    assert client.get(url).status_code == 404
    assert academy.basics.title not in client.get(reverse("library:index")).content.decode()
    assert Grant.objects.get(pk=grant.pk).status == "active"  # the sweep has not run


def test_every_change_is_an_event_with_old_and_new_dates_and_the_reason(academy):
    grant = academy.bootcamp_grant
    start = grant.starts_at
    outcome = set_end(academy, grant, END, reason="Until the end of term")
    assert outcome.changed
    set_end(academy, Grant.objects.get(pk=grant.pk), None)
    first, second = dates_events(grant)
    assert first.details == {"expires_at": [None, END.isoformat()]}
    assert first.reason == "Until the end of term"
    assert first.actor == academy.creator
    assert second.details == {"expires_at": [END.isoformat(), None]}
    assert "starts_at" not in second.details
    assert Grant.objects.get(pk=grant.pk).starts_at == start


def test_the_same_dates_again_change_nothing_and_write_nothing(academy):
    grant = academy.bootcamp_grant
    set_end(academy, grant, END)
    outcome = set_end(academy, Grant.objects.get(pk=grant.pk), END)
    assert not outcome.changed
    assert len(dates_events(grant)) == 1


def test_a_start_to_come_makes_the_grant_start_later(academy, frozen):
    grant = academy.bootcamp_grant
    later = frozen["now"] + timedelta(days=10)
    services.set_access_dates(grant=grant, starts_at=later, expires_at=None, actor=actor(academy))
    grant = selectors.contact_grants(academy.ada).get(pk=grant.pk)
    assert grant_state_of(grant) == AccessState.SCHEDULED
    assert not selectors.has_access(academy.ada, academy.basics)
    assert selectors.has_access(academy.ada, academy.basics, now=later)


@pytest.mark.parametrize(
    "start_shift, end",
    [
        (None, datetime(2026, 1, 1, tzinfo=UTC)),  # before the start (Mar 2)
        (None, datetime(1970, 1, 1, tzinfo=UTC)),  # an absurd year
        (None, "far"),  # further out than any offer's access period
        (timedelta(days=-365 * 40), None),  # a start forty years ago
        (timedelta(days=ACCESS_DAYS_MAX + 2), None),  # a start further out than that
    ],
)
def test_dates_out_of_bounds_are_refused_and_change_nothing(academy, start_shift, end):
    grant = academy.bootcamp_grant
    grant.starts_at = datetime(2026, 3, 2, tzinfo=UTC)
    grant.save(update_fields=["starts_at"])
    if end == "far":
        end = timezone.now() + timedelta(days=ACCESS_DAYS_MAX + 1)
    starts_at = timezone.now() + start_shift if start_shift else grant.starts_at
    with pytest.raises(services.ValidationError):
        services.set_access_dates(
            grant=grant, starts_at=starts_at, expires_at=end, actor=actor(academy)
        )
    fresh = Grant.objects.get(pk=grant.pk)
    assert (fresh.starts_at, fresh.expires_at) == (grant.starts_at, None)
    assert dates_events(grant) == []


def test_stale_dates_are_refused_and_change_nothing(academy):
    grant = academy.bootcamp_grant
    shown = (grant.starts_at, grant.expires_at)
    set_end(academy, grant, END)  # a teammate, meanwhile
    with pytest.raises(services.StaleAccessDates):
        set_end(academy, grant, END + timedelta(days=30), shown=shown)
    assert Grant.objects.get(pk=grant.pk).expires_at == END


def test_a_revoked_grant_keeps_its_dates(academy):
    grant = academy.bootcamp_grant
    shown = (grant.starts_at, grant.expires_at)
    services.revoke_grant(grant=grant, actor=actor(academy))
    with pytest.raises(services.StaleAccessDates):
        set_end(academy, grant, END, shown=shown)
    assert Grant.objects.get(pk=grant.pk).expires_at is None


def test_billing_is_untouched_by_access_dates(academy):
    grant = academy.vault_grant
    before = Subscription.objects.filter(grant=grant).values().get()
    set_end(academy, grant, END)
    assert Subscription.objects.filter(grant=grant).values().get() == before


# --- The popup ------------------------------------------------------------------------------


def urls(academy, grant=None):
    args = [academy.ada.pk, (grant or academy.bootcamp_grant).pk]
    return (
        reverse("contacts:edit_access_dates_form", args=args),
        reverse("contacts:edit_access_dates", args=args),
    )


def shown_fields(grant) -> dict:
    return {
        "shown_starts_at": grant.starts_at.isoformat(),
        "shown_expires_at": grant.expires_at.isoformat() if grant.expires_at else "",
    }


def post(client, academy, grant=None, **data):
    grant = grant or academy.bootcamp_grant
    fields = {"starts_on": timezone.localdate(grant.starts_at).isoformat(), **shown_fields(grant)}
    return client.post(urls(academy, grant)[1], {**fields, **data}, **HTMX)


def test_more_info_shows_the_dates_and_opens_the_popup(creator_client, academy):
    more_info = reverse("contacts:more_info", args=[academy.ada.pk, academy.basics.pk])
    html = creator_client.get(more_info).content.decode()
    assert "No end" in html and "Edit access dates" in html
    popup = creator_client.get(urls(academy)[0], **HTMX).content.decode()
    assert "Edit access dates of Python Bootcamp for Ada Lovelace" in popup
    assert "Payments continue" not in popup  # a one-time purchase bills no more


def test_saving_an_end_date_shows_access_ends_on_in_more_info(creator_client, academy):
    response = post(creator_client, academy, ends_on="2030-06-30", reason="Agreed by email")
    assert response.status_code == 200
    assert "accessChanged" in response.headers["HX-Trigger"]
    grant = Grant.objects.get(pk=academy.bootcamp_grant.pk)
    assert grant.expires_at == datetime(2030, 6, 30, tzinfo=UTC)
    assert grant.starts_at == academy.bootcamp_grant.starts_at  # the day shown keeps its time
    more_info = reverse("contacts:more_info", args=[academy.ada.pk, academy.basics.pk])
    assert "Access ends on Jun 30, 2030" in creator_client.get(more_info).content.decode()
    activity = creator_client.get(reverse("contacts:activity", args=[academy.ada.pk]))
    text = activity.content.decode()
    assert "Access dates changed" in text and "End: No end → Jun 30, 2030" in text
    assert "Agreed by email" in text


def test_the_popup_says_billing_goes_on_for_a_subscription(creator_client, academy):
    popup = creator_client.get(urls(academy, academy.vault_grant)[0], **HTMX).content.decode()
    assert "Payments continue" in popup and "Access dates do not change billing" in popup


@pytest.mark.parametrize(
    "data, message",
    [
        ({"ends_on": "2020-01-01"}, "The end date must come after the start date."),
        ({"ends_on": "1066-10-14"}, "The end date must lie between"),
        ({"ends_on": "9999-12-31"}, "The end date must lie between"),
        ({"ends_on": "99999-01-01"}, "Enter a valid date."),
        ({"ends_on": "not a date"}, "Enter a valid date."),
        ({"starts_on": "", "no_end": "on"}, "Enter the start date."),
        ({"no_end": "on", "shown_starts_at": "yesterday"}, "The popup was changed"),
        ({"no_end": "on", "reason": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_dates_get_a_400_with_a_message_and_change_nothing(
    creator_client, academy, data, message
):
    response = post(creator_client, academy, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Grant.objects.get(pk=academy.bootcamp_grant.pk).expires_at is None
    assert dates_events(academy.bootcamp_grant) == []


def test_stale_popup_says_the_dates_changed_and_shows_the_new_ones(creator_client, academy):
    grant = academy.bootcamp_grant
    shown = shown_fields(grant)
    set_end(academy, grant, datetime(2031, 1, 15, tzinfo=UTC))
    response = creator_client.post(
        urls(academy)[1],
        {"starts_on": timezone.localdate(grant.starts_at).isoformat(), "no_end": "on", **shown},
        **HTMX,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "These access dates changed since you opened them" in html
    assert 'value="2031-01-15"' in html
    assert Grant.objects.get(pk=grant.pk).expires_at == datetime(2031, 1, 15, tzinfo=UTC)


def test_without_htmx_the_popup_is_a_page_and_saving_leads_back(creator_client, academy):
    page = creator_client.get(urls(academy)[0])
    assert page.status_code == 200 and "<html" in page.content.decode()
    grant = academy.bootcamp_grant
    response = creator_client.post(
        urls(academy)[1],
        {
            "starts_on": timezone.localdate(grant.starts_at).isoformat(),
            "ends_on": "2030-01-01",
            **shown_fields(grant),
        },
    )
    assert response.status_code == 302
    assert Grant.objects.get(pk=grant.pk).expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_another_sites_grant_is_a_404(creator_client, academy):
    args = [academy.other_ada.pk, academy.other_grant.pk]
    response = creator_client.get(reverse("contacts:edit_access_dates_form", args=args))
    assert response.status_code == 404


@pytest.mark.parametrize("data", [{"ends_on": ""}, {"ends_on": "2030-06-30", "no_end": "on"}])
def test_an_empty_end_or_no_end_takes_the_end_away(creator_client, academy, data):
    set_end(academy, academy.bootcamp_grant, END)
    grant = Grant.objects.get(pk=academy.bootcamp_grant.pk)
    response = post(creator_client, academy, grant=grant, **data)
    assert response.status_code == 200
    assert Grant.objects.get(pk=grant.pk).expires_at is None
    assert dates_events(grant)[-1].details == {"expires_at": [END.isoformat(), None]}


# --- A grant whose end has passed, swept or not --------------------------------------------


@pytest.mark.parametrize("swept", [False, True], ids=["not yet swept", "swept"])
def test_an_ended_grant_keeps_its_end_until_restored_whether_or_not_the_sweep_ran(
    academy, frozen, creator_client, swept
):
    grant, basics = academy.bootcamp_grant, academy.basics
    set_end(academy, grant, frozen["now"] + timedelta(minutes=5))
    frozen["now"] += timedelta(days=1)
    if swept:
        services.expire_grants()
    grant.refresh_from_db()
    events = grant.events.count()
    for end in (frozen["now"] + timedelta(days=30), None):
        with pytest.raises(services.AccessEnded, match="ended on"):
            set_end(academy, grant, end)
    assert services.set_end_dates(ends={grant.pk: None}, actor=actor(academy)) == []
    popup = creator_client.get(urls(academy, grant)[0], **HTMX)
    assert popup.status_code == 200
    assert "restore access to give it back" in popup.content.decode()
    response = post(creator_client, academy, grant, no_end="on")
    assert response.status_code == 409
    assert "restore access to give it back" in response.content.decode()
    assert grant.events.count() == events
    assert not selectors.has_access(academy.ada, basics)
    more_info = reverse("contacts:more_info", args=[academy.ada.pk, basics.pk])
    html = creator_client.get(more_info).content.decode()
    assert "Edit access dates" not in html and "Restore access" in html

    services.restore_access(grant=grant, actor=actor(academy))
    assert selectors.has_access(academy.ada, basics)
    restored = grant.events.latest("pk")
    assert (restored.kind, restored.details["fresh_period"]) == (AccessEvent.Kind.RESTORED, True)
