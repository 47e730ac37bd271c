"""`Paste emails`: the parser, the stored selection, and every bulk action acting on it."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from contacts.bulk.emails import MAX_EMAILS, parse_emails
from contacts.bulk.pasted import CHUNK, pasted_selection_create
from contacts.models import Contact, PastedSelection
from purchases.access.facts import forget_access_facts
from purchases.models import AccessStatus, BulkAction
from tests.contacts.test_bulk_views import (  # noqa: F401
    HTMX,
    academy,
    creator_client,
    html,
    last_bulk,
    numbers,
    post,
    reasons,
)
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    SiteFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# --- The parser ----------------------------------------------------------------------------

LOCAL = st.text(alphabet="abcxyz019._-", min_size=1, max_size=6).filter(
    lambda s: s[0] not in "._" and s[-1] not in "._" and ".." not in s
)
EMAILS = st.builds(lambda local, domain: f"{local}@{domain}.example", LOCAL, st.sampled_from("ab"))
# Entries that are not emails: no "@", or nothing around it.
INVALID = st.one_of(
    st.text(alphabet="abcXYZ.é", min_size=1, max_size=8),
    st.builds(lambda s: f"{s}@", st.text(alphabet="abc", min_size=1, max_size=3)),
    st.just("@"),
)
SEPARATOR = st.lists(st.sampled_from([",", ";", " ", "\n", "\r\n", "\t"]), min_size=1, max_size=3)
PADDING = st.sampled_from(["", " ", "  ", "\t"])


def _cased(text: str, flips: list[bool]) -> str:
    flips = (flips + [False] * len(text))[: len(text)]
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


# No deadline: the suite runs on two busy cores, where a slow example is not a wrong one.
@settings(deadline=None)
@given(
    entries=st.lists(
        st.tuples(
            st.one_of(EMAILS.map(lambda e: (e, True)), INVALID.map(lambda e: (e, False))),
            st.lists(st.booleans(), max_size=20),
            PADDING,
            SEPARATOR,
        ),
        max_size=40,
    ),
    duplicate_every=st.integers(min_value=1, max_value=5),
)
def test_the_parser_accounts_for_every_distinct_entry_once(entries, duplicate_every):
    pasted = []
    for index, ((entry, _), flips, padding, separator) in enumerate(entries):
        piece = f"{padding}{_cased(entry, flips)}{padding}{''.join(separator)}"
        pasted.append(piece * (2 if index % duplicate_every == 0 else 1))
    text = "".join(pasted)
    result = parse_emails(text)

    written = [entry.lower() for (entry, _), *_ in entries]
    written += [
        entry.lower()
        for index, ((entry, _), *_) in enumerate(entries)
        if not index % duplicate_every
    ]
    distinct = list(dict.fromkeys(written))
    assert sorted(result.emails + result.invalid) == sorted(distinct)
    assert set(result.emails).isdisjoint(result.invalid)
    assert result.duplicates == len(written) - len(distinct)
    # The order pasted is kept, and every email found is one of the valid ones written.
    assert result.emails == [entry for entry in distinct if entry in set(result.emails)]
    assert all(email == email.lower() and "@" in email for email in result.emails)
    assert all(entry.lower() in result.emails for (entry, valid), *_ in entries if valid)
    assert all(entry.lower() in result.invalid for (entry, valid), *_ in entries if not valid)


def test_the_parser_reads_each_separator_and_keeps_invalid_entries_apart():
    result = parse_emails(
        " Ada@Example.com,grace@example.com;\r\nlinus@k.org  not-an-email\tADA@example.com "
    )
    assert result.emails == ["ada@example.com", "grace@example.com", "linus@k.org"]
    assert result.invalid == ["not-an-email"]
    assert result.duplicates == 1


# --- The stored selection -----------------------------------------------------------------


def test_a_paste_selects_the_sites_contacts_by_email_whatever_their_case(academy):  # noqa: F811
    pasted = pasted_selection_create(
        site=academy.site,
        user=academy.creator,
        text="ADA@example.com grace@EXAMPLE.com nobody@example.com ada@other.example oops",
    )
    assert set(pasted.contacts.all()) == {academy.ada, academy.grace}
    # Other School's contact is not this site's: not found, like any unknown email.
    assert pasted.not_found == ["nobody@example.com", "ada@other.example"]
    assert pasted.invalid == ["oops"]
    assert (pasted.matched, pasted.emails) == (2, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Paste at least one email."),
        (" ,; \n", "Paste at least one email."),
        ("oops, nope", "“oops” is not an email"),
        (" ".join(f"c{n}@example.com" for n in range(MAX_EMAILS + 1)), "at most 100,000 emails"),
    ],
)
def test_an_empty_or_too_long_paste_is_refused_and_stores_nothing(academy, text, message):  # noqa: F811
    with pytest.raises(ValidationError, match=message):
        pasted_selection_create(site=academy.site, user=academy.creator, text=text)
    assert not PastedSelection.objects.exists()


def test_100000_emails_are_one_paste(academy):  # noqa: F811
    text = "\n".join(f"c{n}@example.com" for n in range(MAX_EMAILS - 1)) + "\nada@example.com"
    pasted = pasted_selection_create(site=academy.site, user=academy.creator, text=text)
    assert (pasted.matched, pasted.emails, len(pasted.not_found)) == (1, MAX_EMAILS, MAX_EMAILS - 1)


# A site's contacts as a paste may name them: (which contact, how its letters are cased).
NAMED = st.tuples(st.integers(min_value=0, max_value=4), st.lists(st.booleans(), max_size=30))


@settings(max_examples=30, deadline=None)
@given(
    named=st.lists(st.one_of(NAMED, EMAILS, INVALID), max_size=25),
    separator=SEPARATOR,
)
def test_a_paste_selects_exactly_the_sites_contacts_it_names(django_db_blocker, named, separator):
    """For any paste: the contacts stored are this site's whose emails it names in any case,
    never another site's of the same email; every other email is not found, in the order
    pasted; and the counts agree with what is stored."""
    with django_db_blocker.unblock():
        site, other = SiteFactory(), SiteFactory()
        contacts = [ContactFactory(site=site) for _ in range(5)]
        for contact in contacts[:2]:  # the same people, on another site
            ContactFactory(site=other, email=contact.email)
        entries = [
            _cased(contacts[entry[0]].email, entry[1]) if isinstance(entry, tuple) else entry
            for entry in named
        ]
        text = "".join(separator).join(entries)
        pasted_list = parse_emails(text)
        if not pasted_list.emails:
            return
        pasted = pasted_selection_create(site=site, user=UserFactory(), text=text)
        wanted = {c for c in contacts if c.email.lower() in pasted_list.emails}
        assert set(pasted.contacts.all()) == wanted
        assert pasted.matched == len(wanted)
        site_emails = {c.email.lower() for c in contacts}
        assert pasted.not_found == [e for e in pasted_list.emails if e not in site_emails]
        assert pasted.emails == len(pasted_list.emails)
        assert pasted.invalid == pasted_list.invalid


def _statements_of_paste(academy, text) -> tuple[int, PastedSelection]:  # noqa: F811
    with CaptureQueriesContext(connection) as statements:
        pasted = pasted_selection_create(site=academy.site, user=academy.creator, text=text)
    return len(statements), pasted


def test_a_paste_stores_its_contacts_set_based_whatever_how_many_match(academy):  # noqa: F811
    """No statement a contact: a few a paste on PostgreSQL (the emails are one array), one
    a chunk of emails elsewhere, whether 2 or 2,400 of them are contacts."""
    Contact.objects.bulk_create(
        Contact(site=academy.site, email=f"pasted{n}@example.com") for n in range(2400)
    )
    few, _ = _statements_of_paste(
        academy, "\n".join(["ada@example.com", "grace@example.com", "nobody@example.com"])
    )
    many, pasted = _statements_of_paste(
        academy, "\n".join(f"PASTED{n}@example.com" for n in range(2400))
    )
    assert (pasted.matched, pasted.contacts.count(), pasted.not_found) == (2400, 2400, [])
    chunks = 1 if connection.vendor == "postgresql" else -(-2400 // CHUNK)
    assert many == few + chunks - 1


# --- Through the Contacts tab -------------------------------------------------------------


def _paste(creator_client, text):  # noqa: F811
    response = creator_client.post(reverse("bulk:paste"), {"emails": text}, **HTMX)
    assert response.status_code == 200, html(response)
    return response["HX-Redirect"]


def test_paste_emails_opens_a_popup_from_the_action_bar(creator_client):  # noqa: F811
    page = html(creator_client.get(reverse("contacts:list")))
    assert f'href="{reverse("bulk:paste")}"' in page and ">Paste emails</a>" in page
    popup = html(creator_client.get(reverse("bulk:paste"), **HTMX))
    assert '<dialog class="dialog dialog--bulk" data-autoshow' in popup
    assert "One a line, or separated by commas, semicolons or spaces" in popup


def test_the_banner_says_how_many_were_selected_and_lists_those_not_found(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
):
    url = _paste(creator_client, "ada@example.com\ngrace@example.com\nnobody@example.com")
    page = html(creator_client.get(url))
    assert "2 contacts selected from 3 emails; 1 not found." in page
    assert "Not found: nobody@example.com." in page
    # The table lists the selection, with no checkboxes to mix another one in.
    assert "Ada Lovelace" in page and "Grace Hopper" in page and "Linus Torvalds" not in page
    assert 'name="ids"' not in page
    pasted = PastedSelection.objects.get()
    assert f'name="pasted" value="{pasted.pk}"' in page

    download = creator_client.get(reverse("bulk:pasted_not_found", args=[pasted.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows == [["Email", "Why"], ["nobody@example.com", "No contact has this email"]]


def test_the_banner_counts_entries_that_are_not_emails_apart(creator_client, academy):  # noqa: F811
    many = " ".join(f"c{n}@example.com" for n in range(6))
    page = html(creator_client.get(_paste(creator_client, f"ada@example.com oops {many} x@")))
    assert "1 contact selected from 7 emails; 6 not found; 2 are not emails." in page
    assert "Not found or not an email: c0@example.com, c1@example.com" in page
    assert "and 3 more." in page


def test_an_absurdly_long_entry_is_shortened_in_the_banner_and_whole_in_the_csv(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
):
    junk = "x" * 20_000
    page = html(creator_client.get(_paste(creator_client, f"ada@example.com {junk}")))
    assert "1 contact selected from 1 email; 0 not found; 1 is not an email." in page
    assert junk not in page
    assert f"Not found or not an email: {'x' * 79}…." in page
    pasted = PastedSelection.objects.get()
    download = creator_client.get(reverse("bulk:pasted_not_found", args=[pasted.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[1] == [junk, "Not an email"]


def test_a_bulk_revoke_acts_on_the_pasted_selection_and_can_be_undone(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
    post,  # noqa: F811
):
    _paste(creator_client, "ada@example.com linus@k.org nobody@example.com")
    pasted = PastedSelection.objects.get()
    data = {"action": "revoke_offer", "offer": academy.bootcamp.pk, "pasted": pasted.pk}
    preview = post("bulk:preview", data)
    assert preview.status_code == 200
    assert numbers(preview) == {"Selected": 2, "Will change": 2, "Skipped": 0}
    assert f'name="pasted" value="{pasted.pk}"' in html(preview)

    # Linus is deleted between the paste and the confirmation: not acted on, and counted.
    forget_access_facts(contact_ids=[academy.linus.pk])
    academy.linus.delete()
    stale = post("bulk:preview", data)
    assert numbers(stale) == {"Selected": 2, "Will change": 1, "Skipped": 1}
    assert reasons(stale) == {"Not in this site": 1}
    response = post("bulk:start", {**data, "previewed": 2})
    assert response.status_code == 200, html(response)
    bulk = last_bulk()
    assert bulk.selection == {"pasted": pasted.pk}
    bulk.refresh_from_db()
    assert (bulk.changed, bulk.skipped) == (1, 1)
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.REVOKED

    undone = post("bulk:undo", {}, args=[bulk.pk])
    assert undone.status_code == 200, html(undone)
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.ACTIVE


def test_a_search_within_a_pasted_selection_keeps_it_and_narrows_what_is_acted_on(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
    post,  # noqa: F811
):
    url = _paste(creator_client, "ada@example.com grace@example.com linus@k.org")
    pasted = PastedSelection.objects.get()
    # The search box sends its form: the search, the empty filters and the pasted list.
    searched = {"pasted": pasted.pk, "q": "ada", "offer": ""}
    table = creator_client.get(reverse("contacts:list"), searched, **HTMX)
    assert table.status_code == 200
    page = html(table)
    assert "Ada Lovelace" in page and "Grace Hopper" not in page
    assert "3 contacts selected from 3 emails; 0 not found." in page
    assert "1 of them matches this search: a bulk action acts on that one only." in page
    assert f'href="{url}">Show all 3 again</a>' in page
    assert table["HX-Push-Url"] == f"{url}&q=ada"
    # The filter bar itself carries the pasted list, so the next search stays within it.
    full = html(creator_client.get(url))
    form = full.split('id="contacts-filters"')[1].split("</form>")[0]
    assert f'name="pasted" value="{pasted.pk}"' in form

    data = {
        "action": "revoke_offer",
        "offer": academy.bootcamp.pk,
        "pasted": pasted.pk,
        "query": f"pasted={pasted.pk}&q=ada&offer=&per_page=50",
    }
    preview = post("bulk:preview", data)
    assert numbers(preview) == {"Selected": 1, "Will change": 1, "Skipped": 0}
    response = post("bulk:start", {**data, "previewed": 1})
    assert response.status_code == 200, html(response)
    bulk = last_bulk()
    assert bulk.selection == {"pasted": pasted.pk, "query": "q=ada"}
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.REVOKED
    bulk.refresh_from_db()
    assert (bulk.total, bulk.changed) == (1, 1)
    history = html(creator_client.get(reverse("bulk:history")))
    assert "The contacts of a pasted list of emails, all matching “ada”" in history


def test_a_search_within_a_pasted_selection_that_no_longer_validates_is_refused(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
    post,  # noqa: F811
):
    _paste(creator_client, "ada@example.com grace@example.com")
    pasted = PastedSelection.objects.get()
    tag = TagFactory(site=academy.site, name="Cohort 3")
    query = f"pasted={pasted.pk}&tag={tag.pk}"
    tag.delete()  # by a teammate, between the search and the bulk action
    data = {"action": "revoke_offer", "offer": academy.bootcamp.pk, "pasted": pasted.pk}
    for name in ("bulk:preview", "bulk:start"):
        response = post(name, {**data, "query": query, "previewed": 2})
        assert response.status_code == 400, name
        assert "That tag no longer exists. Search again" in html(response)
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.ACTIVE
    assert not BulkAction.objects.exists()


def test_another_members_or_sites_paste_is_refused_in_plain_words(
    creator_client,  # noqa: F811
    academy,  # noqa: F811
    post,  # noqa: F811
):
    teammate = MembershipFactory(site=academy.site, role="admin").user
    theirs = pasted_selection_create(site=academy.site, user=teammate, text="ada@example.com")
    other_site = pasted_selection_create(
        site=academy.other_member.site, user=academy.other_member.user, text="ada@other.example"
    )
    for pasted in (theirs, other_site):
        data = {"action": "revoke_offer", "offer": academy.bootcamp.pk, "pasted": pasted.pk}
        for name in ("bulk:preview", "bulk:start"):
            response = post(name, data)
            assert response.status_code == 400
            assert "This list of emails is not one you pasted on this site." in html(response)
        page = html(creator_client.get(reverse("contacts:list"), {"pasted": pasted.pk}))
        assert "This list of emails is not one you pasted on this site." in page
        assert "contacts selected from" not in page
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.ACTIVE
    assert (
        creator_client.get(reverse("bulk:pasted_not_found", args=[other_site.pk])).status_code
        == 404
    )


def test_a_paste_that_is_empty_or_too_long_is_a_400_in_the_popup(creator_client):  # noqa: F811
    for text, message in [
        ("", "Paste at least one email."),
        ("no emails here", "is not an email"),
        (" ".join(f"c{n}@x.example" for n in range(MAX_EMAILS + 1)), "at most 100,000 emails"),
    ]:
        response = creator_client.post(reverse("bulk:paste"), {"emails": text}, **HTMX)
        assert response.status_code == 400
        assert message in html(response)
    assert not PastedSelection.objects.exists()


def test_a_support_member_cannot_paste(academy):  # noqa: F811
    client = Client()
    client.force_login(MembershipFactory(site=academy.site, role="support").user)
    response = client.post(reverse("bulk:paste"), {"emails": "ada@example.com"})
    assert response.status_code == 403
    assert not PastedSelection.objects.exists()


def test_a_paste_beyond_what_a_request_may_hold_is_a_clear_400(academy):  # noqa: F811
    client = Client(raise_request_exception=False)
    client.force_login(academy.creator)
    response = client.post(reverse("bulk:paste"), {"emails": "a@example.com " * 700_000})
    assert response.status_code == 400
    assert "Paste at most 100,000 emails at a time" in html(response)
    assert not PastedSelection.objects.exists()
