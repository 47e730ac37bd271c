"""The product's words where Django's would reach users: sign-in, form messages, stale
filters, the admin's model names, and machine-readable times."""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import django_filters
import pytest
from django.apps import apps
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.translation import gettext, ngettext

from contacts.models import Contact, Tag
from kajaccess.filters import RefusingFilterSet
from kajaccess.templatetags.times import machine_time
from purchases.models import AccessEvent
from tests.factories import ContactFactory, GrantFactory, MembershipFactory, TagFactory, UserFactory
from tests.test_fuzz import framework_words, messages_of

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
PROJECT_APPS = {"kajaccess", "contacts", "products", "purchases"}
VALID_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _entries(po: str):
    """(msgid, msgid_plural, [msgstr, ...]) of each entry of a .po file, header left out."""
    for block in po.split("\n\n"):
        parts = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                parts[key] = match.group(2)
            elif line.startswith('"') and key:
                parts[key] += line[1:-1]
        if parts.get("msgid"):
            strs = [parts[k] for k in sorted(parts) if k.startswith("msgstr")]
            yield parts["msgid"], parts.get("msgid_plural"), strs


def test_the_compiled_catalogue_says_what_the_po_file_says():
    # The .mo in the repository is what Django reads: a .po changed without compiling
    # it again would change nothing a user sees.
    entries = list(_entries(CATALOGUE.read_text()))
    assert len(entries) > 20
    for msgid, plural, strs in entries:
        if plural:
            assert ngettext(msgid, plural, 1) == strs[0], msgid
            assert ngettext(msgid, plural, 5) == strs[1], msgid
        else:
            assert gettext(msgid) == strs[0], msgid
        assert not any(framework_words(text) for text in strs), msgid


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_failed_sign_in_says_email_never_username(path):
    UserFactory(email="casey@example.com", is_staff=True)
    page = Client().get(path).content.decode()
    assert re.search(r"<label[^>]*>Email:?</label>", page)
    response = Client().post(path, {"username": "casey@example.com", "password": "wrong"})
    said = messages_of(response)
    assert "That email and password do not match" in said
    assert "username" not in said.lower()


@pytest.mark.django_db
def test_a_password_too_like_the_email_is_refused_without_naming_a_field():
    user = UserFactory(email="casey.creator@example.com")
    with pytest.raises(ValidationError) as refusal:
        password_validation.validate_password("casey.creator@example", user)
    said = " ".join(refusal.value.messages)
    assert "too much like your name or email" in said
    assert not framework_words(said)


class TagOnly(RefusingFilterSet):
    """A filter bar whose filter gives no message of its own for a stale value."""

    tag = django_filters.ModelChoiceFilter(queryset=Tag.objects.all(), label="Tag")
    kind = django_filters.ChoiceFilter(choices=[("a", "A")], label="Kind")

    class Meta:
        model = Contact
        fields = []


@pytest.mark.django_db
def test_a_stale_filter_value_is_named_in_the_filters_own_words():
    tag = TagFactory()
    ContactFactory(site=tag.site)
    gone = tag.pk
    tag.delete()
    filters = TagOnly({"tag": str(gone), "kind": "z", "q": "ada"}, queryset=Contact.objects.all())
    assert list(filters.qs) == []
    assert filters.refusal == (
        "The “Tag” filter names a tag that no longer exists. "
        "The “Kind” filter is set to something it does not offer. Choose from its list."
    )
    assert filters.cleared_query() == "q=ada"
    assert filters.form["tag"].field.widget.attrs["aria-invalid"] == "true"


@pytest.mark.django_db
def test_a_deleted_tag_on_the_contacts_tab_is_explained_once_with_the_way_out():
    membership = MembershipFactory()
    tag = TagFactory(site=membership.site)
    gone = tag.pk
    tag.delete()
    client = Client()
    client.force_login(membership.user)
    response = client.get("/contacts/", {"tag": gone, "q": "a"})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("That tag no longer exists.") == 1
    assert '<a href="/contacts/?q=a">Clear that filter</a>' in page
    assert 'class="field-error"' not in page and "Select a valid choice" not in page
    assert 'aria-invalid="true"' in page


def test_every_model_has_a_plural_that_reads_right():
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in PROJECT_APPS:
            continue
        singular, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
        assert not plural.endswith("sss"), meta.label
        if singular.endswith("s"):
            assert plural != singular + "s", meta.label


@pytest.mark.django_db
def test_the_admin_lists_product_accesses():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    grant = GrantFactory()
    page = client.get(f"/admin/purchases/grant/{grant.pk}/change/").content.decode()
    assert "Product accesses" in page
    assert "Product accesss" not in page


@pytest.mark.parametrize(
    "value, shown",
    [
        (datetime(2026, 12, 1, 10, 5, 0, 123456, tzinfo=UTC), "2026-12-01T10:05:00Z"),
        (
            datetime(2026, 12, 1, 12, 5, 7, tzinfo=timezone(timedelta(hours=2))),
            "2026-12-01T10:05:07Z",
        ),
        (date(2026, 12, 1), "2026-12-01"),
        (None, ""),
    ],
)
def test_a_machine_time_is_a_valid_html_date_or_global_date_and_time(value, shown):
    assert machine_time(value) == shown


def test_every_time_element_of_the_templates_uses_machine_time():
    found = 0
    for template in (ROOT / "templates").rglob("*.html"):
        for tag in re.findall(r"<time\b[^>]*>", template.read_text()):
            found += 1
            assert re.fullmatch(r'<time datetime="\{\{ [\w.]+\|machine_time \}\}">', tag), (
                template,
                tag,
            )
    assert found >= 7


@pytest.mark.django_db
def test_the_activity_tab_gives_times_without_microseconds():
    membership = MembershipFactory()
    contact = ContactFactory(site=membership.site)
    AccessEvent.objects.create(
        site=membership.site,
        contact=contact,
        kind=AccessEvent.Kind.GRANTED,
        at=datetime(2026, 12, 1, 10, 5, 0, 123456, tzinfo=UTC),
    )
    client = Client()
    client.force_login(membership.user)
    page = client.get("/activity/").content.decode()
    times = re.findall(r'<time datetime="([^"]+)"', page)
    assert times == ["2026-12-01T10:05:00Z"]
    assert all(VALID_TIME.fullmatch(value) for value in times)
