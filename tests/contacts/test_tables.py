from datetime import UTC, datetime, timedelta

import pytest

from contacts.table import ago, short_date

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "said"),
    [
        (timedelta(seconds=30), "Just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=2, minutes=59), "2 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=20), "2 weeks ago"),
        (timedelta(days=65), "2 months ago"),
        (timedelta(days=800), "2 years ago"),
    ],
)
def test_last_activity_reads_in_the_largest_whole_unit(before, said):
    assert ago(NOW - before, NOW) == said


def test_dates_read_like_the_rest_of_the_dashboard():
    assert short_date(datetime(2026, 7, 1, tzinfo=UTC)) == "Jul 1, 2026"


@pytest.mark.django_db
def test_what_a_contact_typed_is_shown_as_text(client):
    from contacts.models import ContactTag
    from tests.factories import ContactFactory, MembershipFactory, TagFactory

    member = MembershipFactory()
    contact = ContactFactory(
        site=member.site, name='<script>alert("x")</script>', email="o'neil@example.com"
    )
    ContactTag.objects.create(contact=contact, tag=TagFactory(site=member.site, name="<b>VIP</b>"))
    client.force_login(member.user)

    html = client.get("/contacts/").content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "o&#x27;neil@example.com" in html
    assert "&lt;b&gt;VIP&lt;/b&gt;" in html
    assert 'aria-label="Select &lt;script&gt;' in html
