"""`field__any=ids` finds exactly the rows an `__in` of the same ids finds."""

import pytest
from django.db.models.functions import Lower
from hypothesis import given, settings
from hypothesis import strategies as st

from contacts.models import Contact
from purchases.models import Grant
from tests.factories import ContactFactory, GrantFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    site = SiteFactory()
    return [ContactFactory(site=site) for _ in range(5)]


@settings(max_examples=25, deadline=None)
@given(picks=st.lists(st.integers(min_value=-2, max_value=7)))
def test_any_matches_what_in_matches(django_db_blocker, picks):
    with django_db_blocker.unblock():
        site = SiteFactory()
        ids = [ContactFactory(site=site).pk for _ in range(3)]
        wanted = [ids[p] if 0 <= p < len(ids) else 10**12 + p for p in picks]
        assert set(Contact.objects.filter(pk__any=wanted)) == set(
            Contact.objects.filter(pk__in=wanted)
        )


def test_an_empty_list_matches_nothing_without_asking_the_database(
    contacts, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert list(Contact.objects.filter(pk__any=[])) == []


def test_a_foreign_key_is_matched_by_its_ids(contacts):
    grant = GrantFactory(contact=contacts[1])
    GrantFactory(contact=contacts[2])
    assert list(Grant.objects.filter(contact_id__any=[contacts[1].pk, contacts[3].pk])) == [grant]


def test_anything_but_ids_is_refused_before_the_query(contacts):
    with pytest.raises(ValueError):
        Contact.objects.filter(pk__any=["1; drop table contacts_contact"])


def test_a_query_is_refused_rather_than_read_as_no_ids(contacts):
    ids = Contact.objects.filter(pk=contacts[0].pk).values_list("pk", flat=True)
    with pytest.raises(TypeError, match="field__in"):
        list(Contact.objects.filter(pk__any=ids))


@settings(max_examples=25, deadline=None)
@given(
    picks=st.lists(
        st.one_of(
            st.integers(min_value=0, max_value=4),
            # Any text a column can hold (PostgreSQL refuses NUL in any text).
            st.text(
                st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
            ),
        )
    )
)
def test_texts_match_what_in_matches_on_a_text_expression(django_db_blocker, picks):
    """A lowercased email (an expression, as the paste of emails asks for) takes texts: the
    site's own emails, any case, and any other text, quotes and commas included."""
    with django_db_blocker.unblock():
        site = SiteFactory()
        emails = [ContactFactory(site=site).email.lower() for _ in range(5)]
        wanted = [emails[p] if isinstance(p, int) else p for p in picks]
        contacts = Contact.objects.filter(site=site).annotate(email_lower=Lower("email"))
        found = set(contacts.filter(email_lower__any=wanted))
        assert found == set(contacts.filter(email_lower__in=wanted))
        assert {c.email.lower() for c in found} == set(emails) & set(wanted)
