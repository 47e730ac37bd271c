"""The Contacts tab, the contact panel (preview, View More, More Info) and the profile."""

import re

import pytest
from django.urls import reverse

from contacts.filters import ContactFilter
from contacts.models import Contact
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import Subscription
from tests.academy import build_academy
from tests.factories import (
    ContactFactory,
    GrantFactory,
    LessonCompletionFactory,
    OfferFactory,
    ProductFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


def names_in_table(response) -> list[str]:
    """The contacts' names in the table's rows, in order."""
    html = response.content.decode()
    return re.findall(
        r'<tr id="contact-row-\d+"[^>]*>.*?hx-swap="innerHTML">([^<]+)</a>', html, re.S
    )


def row_of(response, contact) -> str:
    html = response.content.decode()
    match = re.search(rf'<tr id="contact-row-{contact.pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"{contact} is not in the table"
    return match.group(1)


# --- Signing in and the layout --------------------------------------------------------


def test_signing_in_with_an_email_leads_a_member_to_the_contacts_tab(client, academy):
    response = client.post(
        reverse("login"),
        {"username": "Creator@Example.com", "password": "kajaccess-demo"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("contacts:list")
    html = response.content.decode()
    assert "Demo Academy" in html
    assert '<a href="/contacts/" aria-current="page">Contacts</a>' in html


def test_signing_out_ends_the_session(creator_client):
    response = creator_client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert creator_client.get(reverse("contacts:list")).status_code == 302


def test_the_dashboard_needs_a_sign_in(client, academy):
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_customer_cannot_open_the_dashboard(client, academy):
    client.force_login(academy.ada.user)
    assert client.get(reverse("contacts:list")).status_code == 404
    assert client.get(reverse("contacts:preview", args=[academy.ada.pk])).status_code == 404
    assert client.get(reverse("home")).url == reverse("library:index")


# --- The Contacts tab -----------------------------------------------------------------


def test_the_table_lists_name_email_customer_mark_total_products_and_tags(creator_client, academy):
    response = creator_client.get(reverse("contacts:list"))
    assert response.status_code == 200
    ada = row_of(response, academy.ada)
    assert "ada@example.com" in ada
    assert "Customer" in ada
    assert f'<span id="total-products-{academy.ada.pk}">3</span>' in ada
    assert '<span class="tag">VIP</span>' in ada
    grace = row_of(response, academy.grace)
    assert f'<span id="total-products-{academy.grace.pk}">0</span>' in grace
    assert "Not a customer" in grace
    assert "Other School" not in response.content.decode()
    assert "ada@other.example" not in response.content.decode()


def test_total_products_counts_what_the_contact_can_open_now(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.advanced, actor=Actor.creator(academy.creator)
    )
    response = creator_client.get(reverse("contacts:list"))
    assert f'<span id="total-products-{academy.ada.pk}">2</span>' in row_of(response, academy.ada)


def test_search_finds_contacts_by_name_or_email(creator_client, academy):
    by_name = creator_client.get(reverse("contacts:list"), {"q": "lovel"})
    assert names_in_table(by_name) == ["Ada Lovelace"]
    by_email = creator_client.get(reverse("contacts:list"), {"q": "GRACE@"})
    assert names_in_table(by_email) == ["Grace Hopper"]
    nobody = creator_client.get(reverse("contacts:list"), {"q": "nobody"})
    assert names_in_table(nobody) == []
    assert "No contacts match this search." in nobody.content.decode()


def test_filters_by_offer_product_tag_access_and_subscription(creator_client, academy):
    url = reverse("contacts:list")
    ContactFactory(site=academy.site, name="Alan Turing")
    assert names_in_table(creator_client.get(url, {"offer": academy.bootcamp.pk})) == [
        "Ada Lovelace"
    ]
    assert names_in_table(creator_client.get(url, {"product": academy.vault.pk})) == [
        "Ada Lovelace"
    ]
    vip = academy.ada.tags.get()
    assert names_in_table(creator_client.get(url, {"tag": vip.pk})) == ["Ada Lovelace"]
    assert names_in_table(creator_client.get(url, {"access": "has_access"})) == ["Ada Lovelace"]
    assert sorted(names_in_table(creator_client.get(url, {"access": "none"}))) == [
        "Alan Turing",
        "Grace Hopper",
    ]
    assert names_in_table(creator_client.get(url, {"access": "revoked"})) == []
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.advanced, actor=Actor.creator(academy.creator)
    )
    assert names_in_table(creator_client.get(url, {"access": "revoked"})) == ["Ada Lovelace"]
    assert names_in_table(creator_client.get(url, {"billing": "active"})) == ["Ada Lovelace"]
    assert names_in_table(creator_client.get(url, {"billing": "paused"})) == []


@pytest.mark.parametrize("alone", ["offer", "product"])
def test_an_offer_or_product_filter_counts_its_holders_from_the_counters(
    creator_client, academy, alone
):
    url = reverse("contacts:list")
    subject = {"offer": academy.bootcamp, "product": academy.basics}[alone]
    actor = Actor.creator(academy.creator)
    for i in range(12):
        contact = ContactFactory(site=academy.site, email=f"learner{i}@example.com")
        services.grant_offer(contact=contact, offer=academy.bootcamp, actor=actor)
        if i % 3 == 0:
            services.revoke_grants(
                grant_ids=list(contact.grants.values_list("pk", flat=True)), actor=actor
            )
    holders = Contact.objects.filter(grants__offer=academy.bootcamp).distinct().count()
    response = creator_client.get(url, {alone: subject.pk, "per_page": 10})
    assert response.context["table"].page.count == holders
    assert f"1–10 of {holders}" in response.text
    # With another filter beside it, the rows that match are counted.
    narrowed = creator_client.get(url, {alone: subject.pk, "q": "learner1", "per_page": 10})
    assert narrowed.context["table"].page.count == 3  # learner1, learner10, learner11


@pytest.mark.parametrize(
    "alone",
    [{"access": "has_access"}, {"access": "revoked"}, {"access": "none"}, {"billing": "active"}],
)
def test_an_access_or_subscription_filter_counts_from_the_site_counters(
    creator_client, academy, alone
):
    actor = Actor.creator(academy.creator)
    for i in range(6):
        contact = ContactFactory(site=academy.site, email=f"member{i}@example.com")
        services.grant_offer(contact=contact, offer=academy.membership, actor=actor)
        if i % 2:
            services.revoke_product(grant=contact.grants.get(), product=academy.vault, actor=actor)
        if i % 3 == 0:
            services.revoke_grants(grant_ids=[contact.grants.get().pk], actor=actor)
    filtered = ContactFilter(
        alone, queryset=Contact.objects.filter(site=academy.site), site=academy.site
    )
    assert filtered.counted() is not None
    expected = filtered.qs.count()
    response = creator_client.get(reverse("contacts:list"), alone)
    assert response.context["table"].page.count == expected > 0


def test_a_filter_naming_another_sites_offer_says_so_and_lists_no_one(creator_client, academy):
    other_offer = academy.other_grant.offer
    response = creator_client.get(reverse("contacts:list"), {"offer": other_offer.pk, "q": "a"})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("That offer no longer exists.") == 1
    assert '<a href="/contacts/?q=a">Clear that filter</a>' in page
    assert names_in_table(response) == []


def test_sorting_by_total_products_and_by_name(creator_client, academy):
    ContactFactory(site=academy.site, name="Alan Turing")
    url = reverse("contacts:list")
    most = names_in_table(creator_client.get(url, {"sort": "-total_products"}))
    assert most[0] == "Ada Lovelace"
    fewest = names_in_table(creator_client.get(url, {"sort": "total_products"}))
    assert fewest[-1] == "Ada Lovelace"
    by_name = names_in_table(creator_client.get(url, {"sort": "contact"}))
    assert by_name == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    by_name_desc = names_in_table(creator_client.get(url, {"sort": "-contact"}))
    assert by_name_desc == ["Grace Hopper", "Alan Turing", "Ada Lovelace"]
    # An unknown column is ignored rather than failing.
    assert creator_client.get(url, {"sort": "password"}).status_code == 200


@pytest.mark.parametrize(
    ("asked", "rows"),
    [("5", 10), ("10", 10), ("37", 37), ("100", 100), ("5000", 100), ("abc", 25), ("", 25)],
)
def test_rows_per_page_is_clamped_to_10_through_100(creator_client, academy, asked, rows):
    ContactFactory.create_batch(120, site=academy.site)
    response = creator_client.get(reverse("contacts:list"), {"per_page": asked})
    assert response.status_code == 200
    assert len(names_in_table(response)) == rows
    assert f"1–{rows} of 122" in response.content.decode()


@pytest.mark.parametrize("asked", ["0", "-3", "999", "last", "first"])
def test_a_page_out_of_range_shows_the_nearest_page(creator_client, academy, asked):
    ContactFactory.create_batch(38, site=academy.site)
    response = creator_client.get(reverse("contacts:list"), {"page": asked, "per_page": "10"})
    assert response.status_code == 200
    assert len(names_in_table(response)) == 10


def test_htmx_gets_only_the_table_region_and_links_push_the_url(creator_client, academy):
    response = creator_client.get(reverse("contacts:list"), {"q": "ada"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith("{") is False
    assert "<html" not in html
    assert html.strip().startswith('<div id="contacts-table"')
    assert 'hx-push-url="true"' in html
    assert names_in_table(response) == ["Ada Lovelace"]
    full = creator_client.get(reverse("contacts:list"), {"q": "ada"})
    assert "<html" in full.content.decode()
    assert 'id="contacts-filters"' in full.content.decode()


def test_the_contacts_page_runs_the_same_queries_for_10_and_100_rows(
    creator_client, academy, django_assert_max_num_queries, django_assert_num_queries
):
    offer = OfferFactory(site=academy.site, products=[academy.basics, academy.advanced])
    tag = TagFactory(site=academy.site)
    for contact in ContactFactory.create_batch(120, site=academy.site):
        GrantFactory(offer=offer, contact=contact)
        contact.tags.add(tag)
    url = reverse("contacts:list")
    with django_assert_max_num_queries(12) as ten:
        creator_client.get(url, {"per_page": 10, "sort": "-total_products"})
    with django_assert_num_queries(len(ten.captured_queries)):
        response = creator_client.get(url, {"per_page": 100, "sort": "-total_products"})
    assert len(names_in_table(response)) == 100


def test_reading_pages_change_nothing_and_refuse_post(creator_client, academy):
    response = creator_client.post(reverse("contacts:list"))
    assert response.status_code == 405


# --- The contact panel ----------------------------------------------------------------


def test_the_preview_shows_the_contact_total_products_and_subscriptions(creator_client, academy):
    response = creator_client.get(reverse("contacts:preview", args=[academy.ada.pk]), **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert "Ada Lovelace" in html and "ada@example.com" in html and "VIP" in html
    assert re.search(r"<dt>Total products</dt>\s*<dd[^>]*>3</dd>", html)
    assert ">View More<" in html
    assert "Vault Membership" in html
    assert f'id="subscription-{academy.vault_grant.subscription.pk}"' in html
    assert "29.00 USD a month" in html
    assert ">Grant offer<" in html
    assert ">Open full profile<" in html
    assert reverse("contacts:profile", args=[academy.ada.pk]) in html


def _panel_steps(academy):
    """Each step of Ada's panel: its URL and the title of its screen."""
    return [
        (reverse("contacts:preview", args=[academy.ada.pk]), "Ada Lovelace"),
        (reverse("contacts:products", args=[academy.ada.pk]), "Products"),
        (
            reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk]),
            "Advanced Python",
        ),
    ]


def panel_title(html: str) -> str:
    match = re.search(r'<h2 id="panel-title"[^>]*>([^<]+)</h2>', html)
    assert match, "no panel is open"
    return match.group(1)


def test_each_step_of_the_panel_opens_over_the_contacts_tab_of_its_own_search(
    creator_client, academy
):
    ContactFactory(site=academy.site, name="Ada Byron", email="byron@example.com")
    search = {"q": "ada", "sort": "-contact"}
    for url, title in _panel_steps(academy):
        response = creator_client.get(url, search)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" in html and 'id="contacts-filters"' in html
        assert 'aria-current="page">Contacts</a>' in html
        # The table is the one of the address's query string: searched and sorted.
        assert names_in_table(response) == ["Ada Lovelace", "Ada Byron"]
        assert re.search(r'<input[^>]*name="q"[^>]*value="ada"', html)
        assert panel_title(html) == title
        assert row_of(response, academy.ada) is not None
        assert f'<tr id="contact-row-{academy.ada.pk}" aria-current="true">' in html
        assert len(re.findall(r'<tr [^>]*aria-current="true"', html)) == 1
        # Every way on, back and out of the panel keeps the search.
        for link in re.findall(r'<a [^>]*hx-target="#panel"[^>]*>', html):
            assert "?q=ada&amp;sort=-contact" in link, link
            assert 'hx-push-url="true"' in link, link
        assert 'class="panel__close" href="/contacts/?q=ada&amp;sort=-contact"' in html


def test_a_panel_step_asked_for_by_htmx_is_only_the_panel_with_links_that_keep_the_search(
    creator_client, academy
):
    for url, title in _panel_steps(academy):
        response = creator_client.get(
            url, {"q": "ada", "page": "1"}, HTTP_HX_CURRENT_URL=f"http://testserver{url}", **HTMX
        )
        html = response.content.decode()
        assert "<html" not in html and 'id="contacts-filters"' not in html
        assert panel_title(html) == title
        assert re.search(r'role="region" aria-labelledby="panel-title"', html)
        assert '<h2 id="panel-title" tabindex="-1">' in html
        steps = re.findall(r"<a [^>]*data-panel-step[^>]*>", html)
        assert steps and all("?q=ada&amp;page=1" in step for step in steps)


def test_more_info_beside_the_profile_leaves_the_address_alone(creator_client, academy):
    profile = reverse("contacts:profile", args=[academy.ada.pk])
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    html = creator_client.get(url, HTTP_HX_CURRENT_URL=f"http://testserver{profile}", **HTMX)
    html = html.content.decode()
    assert "Revoke Access" in html
    assert "hx-push-url" not in html
    assert "hx-push-url" not in creator_client.get(profile).content.decode()


def test_a_panel_over_a_search_that_no_longer_validates_says_why_and_lists_no_one(
    creator_client, academy
):
    url = reverse("contacts:preview", args=[academy.ada.pk])
    response = creator_client.get(url, {"tag": "987654"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This search can no longer be used" in html
    assert names_in_table(response) == []
    assert panel_title(html) == "Ada Lovelace"


@pytest.mark.parametrize(
    ("shown", "pushed"),
    [
        ("contacts:preview", "/contacts/{ada}/preview/?q=lov&sort=name"),
        ("contacts:products", "/contacts/{ada}/products/?q=lov&sort=name"),
        ("contacts:more_info", "/contacts/{ada}/products/{advanced}/?q=lov&sort=name"),
        ("contacts:list", "/contacts/?q=lov&sort=name"),
    ],
)
def test_searching_sorting_or_paging_under_an_open_panel_keeps_it_in_the_address(
    creator_client, academy, shown, pushed
):
    ids = {"ada": academy.ada.pk, "advanced": academy.advanced.pk}
    kwargs = {"contact_id": academy.ada.pk}
    if shown == "contacts:more_info":
        kwargs["product_id"] = academy.advanced.pk
    current = reverse(shown, kwargs=kwargs if shown != "contacts:list" else {})
    response = creator_client.get(
        reverse("contacts:list"),
        {"q": "lov", "offer": "", "sort": "name"},
        HTTP_HX_CURRENT_URL=f"http://testserver{current}?q=ada",
        HTTP_HX_TRIGGER="contacts-filters",
        **HTMX,
    )
    assert response["HX-Push-Url"] == pushed.format(**ids)
    html = response.content.decode()
    assert names_in_table(response) == ["Ada Lovelace"]
    # The open contact's row stays marked in the new table.
    marked = f'<tr id="contact-row-{academy.ada.pk}" aria-current="true">' in html
    assert marked is (shown != "contacts:list")


def test_the_table_refreshing_itself_after_a_change_leaves_the_address_alone(
    creator_client, academy
):
    current = reverse("contacts:preview", args=[academy.ada.pk])
    response = creator_client.get(
        reverse("contacts:list"),
        {"q": "ada"},
        HTTP_HX_CURRENT_URL=f"http://testserver{current}?q=ada",
        HTTP_HX_TRIGGER="contacts-table",
        **HTMX,
    )
    assert "HX-Push-Url" not in response
    assert (
        f'<tr id="contact-row-{academy.ada.pk}" aria-current="true">' in response.content.decode()
    )


def test_a_history_restore_of_a_panel_step_gets_the_whole_tab(creator_client, academy):
    url = reverse("contacts:products", args=[academy.ada.pk])
    response = creator_client.get(url, {"q": "ada"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    html = response.content.decode()
    assert "<html" in html and names_in_table(response) == ["Ada Lovelace"]
    assert panel_title(html) == "Products"


def test_view_more_lists_active_products_first_with_progress_and_offers(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.basics, actor=Actor.creator(academy.creator)
    )
    response = creator_client.get(reverse("contacts:products", args=[academy.ada.pk]), **HTMX)
    html = response.content.decode()
    titles = re.findall(r'<p class="item__title">\s*([^<\n]+?)\s*(?:<|\n)', html)
    assert titles == ["Advanced Python", "The Vault", "Python Basics"]
    basics = html[html.index("Python Basics") :]
    assert "Revoked" in basics[:200]
    assert "3 of 5 lessons" in basics
    assert "via Python Bootcamp" in basics
    assert html.count(">More Info<") == 3


def test_more_info_shows_each_grant_its_products_and_controls(creator_client, academy):
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    response = creator_client.get(url, **HTMX)
    html = response.content.decode()
    assert "Python Bootcamp" in html
    assert "Purchased" in html
    assert "299.00 USD" in html
    assert "End</dt><dd>No end" in html
    assert "Python Basics" in html and "3 of 5 lessons" in html
    assert "Advanced Python" in html and "0 of 4 lessons" in html
    assert 'Revoke Access<span class="visually-hidden"> to Advanced Python in Python Bootcamp' in (
        html
    )
    assert 'Revoke Access to the whole Offer<span class="visually-hidden"> Python Bootcamp' in html
    assert "Access status" not in html
    assert "Vault Membership" not in html


def test_more_info_shows_restore_for_what_was_revoked_and_who_did_it(creator_client, academy):
    services.revoke_grant(
        grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator), reason="Refunded"
    )
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    html = creator_client.get(url, **HTMX).content.decode()
    assert "Restore access to the whole Offer" in html
    assert "Revoke Access" not in html
    assert "Revoked by creator@example.com" in html
    assert "Refunded" in html


def test_more_info_for_a_product_the_contact_never_held_is_a_404(creator_client, academy):
    url = reverse("contacts:more_info", args=[academy.grace.pk, academy.advanced.pk])
    response = creator_client.get(url)
    assert response.status_code == 404


def _busy_contact(academy):
    """Ada with many more grants, products and lessons, so any per-row query would show."""
    actor = Actor.creator(academy.creator)
    for n in range(6):
        products = [ProductFactory(site=academy.site, lessons=3) for _ in range(3)]
        products.append(academy.advanced)
        offer = OfferFactory(site=academy.site, products=products)
        grant = services.grant_offer(contact=academy.ada, offer=offer, actor=actor).obj
        Subscription.objects.create(grant=grant, amount=10)
        LessonCompletionFactory(contact=academy.ada, lesson=products[0].lessons.first())
        if n % 2:
            services.revoke_product(grant=grant, product=products[1], actor=actor)


# The whole Contacts tab (its table, filters and bulk bar) with the panel open beside it.
FULL_PAGE_QUERIES = {"contacts:preview": 15, "contacts:products": 15, "contacts:more_info": 18}


@pytest.mark.parametrize("name", ["contacts:preview", "contacts:products"])
def test_the_panel_runs_a_fixed_number_of_queries(
    creator_client, academy, django_assert_max_num_queries, name
):
    _busy_contact(academy)
    ContactFactory.create_batch(30, site=academy.site)
    url = reverse(name, args=[academy.ada.pk])
    for headers, most in ((HTMX, 12), ({}, FULL_PAGE_QUERIES[name])):
        with django_assert_max_num_queries(most):
            response = creator_client.get(
                url, {"per_page": 25, "sort": "-total_products"}, **headers
            )
        assert response.status_code == 200


def test_more_info_runs_a_fixed_number_of_queries(
    creator_client, academy, django_assert_max_num_queries
):
    _busy_contact(academy)
    ContactFactory.create_batch(30, site=academy.site)
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    for headers, most in ((HTMX, 12), ({}, FULL_PAGE_QUERIES["contacts:more_info"])):
        with django_assert_max_num_queries(most):
            response = creator_client.get(url, {"per_page": 25}, **headers)
        assert response.content.decode().count("grant__header") == 7


# --- The profile ----------------------------------------------------------------------


def test_the_profile_has_products_purchases_and_activity_tabs(creator_client, academy):
    response = creator_client.get(reverse("contacts:profile", args=[academy.ada.pk]))
    html = response.content.decode()
    assert "<h1>Ada Lovelace</h1>" in html
    for tab in ("contacts:profile", "contacts:purchases", "contacts:activity"):
        assert reverse(tab, args=[academy.ada.pk]) in html
    assert 'aria-current="page">Products</a>' in html
    assert html.count(">More Info<") == 3


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("contacts:preview", "contact-preview"),
        ("contacts:products", "contact-products"),
        ("contacts:profile", "profile-products"),
        ("contacts:purchases", "contact-purchases"),
    ],
)
def test_a_region_refreshing_itself_after_a_change_gets_only_itself(
    creator_client, academy, name, root
):
    response = creator_client.get(reverse(name, args=[academy.ada.pk]), **HTMX)
    html = response.content.decode()
    assert re.match(rf'\s*<section[^>]*\bid="{root}"', html)
    assert 'hx-trigger="accessChanged from:body"' in html
    assert "<html" not in html and html.count(f'id="{root}"') == 1


def _purchase_entry(response, grant) -> str:
    html = response.content.decode()
    match = re.search(
        rf'<article class="grant[^"]*" id="grant-{grant.pk}".*?</article>', html, re.S
    )
    assert match, f"no entry for {grant}"
    return match.group(0)


def test_the_purchases_tab_has_no_access_row_while_access_is_whole(creator_client, academy):
    response = creator_client.get(reverse("contacts:purchases", args=[academy.ada.pk]))
    assert response.status_code == 200
    bootcamp = _purchase_entry(response, academy.bootcamp_grant)
    assert "Python Bootcamp" in bootcamp and "299.00 USD" in bootcamp
    assert "Access status" not in bootcamp
    vault = _purchase_entry(response, academy.vault_grant)
    assert "Subscription" in vault and "Active" in vault
    assert "Access status" not in vault


@pytest.mark.parametrize(
    ("actor", "label"),
    [
        (lambda a: Actor.creator(a.creator), "Revoked by creator@example.com"),
        (lambda a: Actor.support(UserFactory(is_staff=True)), "Revoked by our support team"),
        (lambda a: Actor.automation(), "Revoked by automation"),
        (lambda a: Actor.cancellation(), "Revoked"),
    ],
    ids=["creator", "support", "automation", "cancellation"],
)
def test_the_purchases_tab_says_access_revoked_and_by_whom(creator_client, academy, actor, label):
    services.revoke_product(
        grant=academy.bootcamp_grant,
        product=academy.advanced,
        actor=actor(academy),
        reason="Asked for a refund",
    )
    response = creator_client.get(reverse("contacts:purchases", args=[academy.ada.pk]))
    entry = _purchase_entry(response, academy.bootcamp_grant)
    assert re.search(
        rf"<dt>Access status</dt>\s*<dd><span class=\"access-revoked\">Access revoked</span> · "
        rf"{re.escape(label)}( |<)",
        entry,
    )
    assert "Asked for a refund" in entry
    assert "Access status" not in _purchase_entry(response, academy.vault_grant)


def test_the_activity_tab_is_the_contacts_timeline(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant,
        product=academy.advanced,
        actor=Actor.creator(academy.creator),
        reason="Chargeback",
    )
    response = creator_client.get(reverse("contacts:activity", args=[academy.ada.pk]))
    html = response.content.decode()
    first = html.index("Product access revoked")
    assert first < html.index("Offer granted")
    assert '<p class="timeline__meta">creator@example.com · ' in html
    assert "Reason: Chargeback" in html
    assert "Other Offer" not in html


# --- What the Offer's state says -------------------------------------------------------


def offer_badges(entry: str) -> list[str]:
    """The words of the badges beside the Offer's title."""
    header = re.search(r'<header class="grant__header">(.*?)</header>', entry, re.S).group(1)
    return re.findall(r'<span class="badge [^"]+">([^<]+)</span>', header)


def product_lines(entry: str) -> list[tuple[str, list[str], bool]]:
    """Each Product line of an Offer: its title, its badges, and whether it is highlighted."""
    lines = []
    for tag, body in re.findall(r'(<li class="item [^>]*>)(.*?)</li>', entry, re.S):
        title = re.search(r'<p class="item__title">(.*?)</p>', body, re.S).group(1)
        lines.append(
            (
                re.match(r"[^<]+", title).group(0).strip(),
                re.findall(r'<span class="badge [^"]+">([^<]+)</span>', title),
                'aria-current="true"' in tag,
            )
        )
    return lines


def test_a_product_revoked_alone_makes_the_offer_read_partly_revoked(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.advanced, actor=Actor.creator(academy.creator)
    )
    response = creator_client.get(reverse("contacts:purchases", args=[academy.ada.pk]))
    bootcamp = _purchase_entry(response, academy.bootcamp_grant)
    assert offer_badges(bootcamp) == ["Partly revoked"]
    assert re.search(
        r"<dt>Access status</dt>\s*<dd><span class=\"access-revoked\">Access revoked</span> · "
        r"Revoked by creator@example.com ",
        bootcamp,
    )
    assert product_lines(bootcamp) == [
        ("Advanced Python", ["Revoked"], False),
        ("Python Basics", [], False),
    ]
    assert offer_badges(_purchase_entry(response, academy.vault_grant)) == ["Active"]


def test_an_offer_reads_revoked_once_every_product_is_and_active_once_restored(
    creator_client, academy
):
    actor = Actor.creator(academy.creator)
    grant = academy.bootcamp_grant
    url = reverse("contacts:purchases", args=[academy.ada.pk])
    for product in (academy.advanced, academy.basics):
        services.revoke_product(grant=grant, product=product, actor=actor)
    bootcamp = _purchase_entry(creator_client.get(url), grant)
    assert offer_badges(bootcamp) == ["Revoked"]
    assert [badges for _, badges, _ in product_lines(bootcamp)] == [[], []]
    for product in (academy.advanced, academy.basics):
        services.restore_access(grant=grant, product=product, actor=actor)
    bootcamp = _purchase_entry(creator_client.get(url), grant)
    assert offer_badges(bootcamp) == ["Active"]
    assert "Access status" not in bootcamp


def test_more_info_reads_partly_revoked_and_shows_its_product_first_and_highlighted(
    creator_client, academy
):
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.advanced, actor=Actor.creator(academy.creator)
    )
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.basics.pk])
    response = creator_client.get(url, **HTMX)
    bootcamp = _purchase_entry(response, academy.bootcamp_grant)
    assert offer_badges(bootcamp) == ["Partly revoked"]
    assert "Access revoked</span> · Revoked by creator@example.com" in bootcamp
    # Python Basics comes after Advanced Python in the catalogue, yet it is first here.
    assert product_lines(bootcamp) == [
        ("Python Basics", [], True),
        ("Advanced Python", ["Revoked"], False),
    ]
    url = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    bootcamp = _purchase_entry(creator_client.get(url), academy.bootcamp_grant)
    assert product_lines(bootcamp) == [
        ("Advanced Python", ["Revoked"], True),
        ("Python Basics", [], False),
    ]


def test_view_more_marks_each_product_not_open_with_its_state(creator_client, academy):
    actor = Actor.creator(academy.creator)
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.advanced, actor=actor)
    services.revoke_grant(grant=academy.vault_grant, actor=Actor.expiry())
    response = creator_client.get(reverse("contacts:products", args=[academy.ada.pk]), **HTMX)
    assert product_lines(response.content.decode()) == [
        ("Python Basics", [], False),
        ("Advanced Python", ["Revoked"], False),
        ("The Vault", ["Expired"], False),
    ]


# --- Scoped to the site ---------------------------------------------------------------


def test_every_contact_page_of_another_site_is_a_404(creator_client, academy):
    other = academy.other_ada
    urls = [
        reverse("contacts:preview", args=[other.pk]),
        reverse("contacts:products", args=[other.pk]),
        reverse("contacts:more_info", args=[other.pk, academy.other_product.pk]),
        reverse("contacts:more_info", args=[academy.ada.pk, academy.other_product.pk]),
        reverse("contacts:profile", args=[other.pk]),
        reverse("contacts:purchases", args=[other.pk]),
        reverse("contacts:activity", args=[other.pk]),
        reverse("contacts:preview", args=[987654]),
    ]
    for url in urls:
        assert creator_client.get(url).status_code == 404, url
        assert creator_client.get(url, **HTMX).status_code == 404, url
