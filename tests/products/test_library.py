import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import Actor
from products.models import Lesson, LessonCompletion
from purchases.access import services
from purchases.access.facts import refresh_access_facts
from purchases.access.selectors import library_products
from purchases.models import Grant
from tests.factories import (
    ContactFactory,
    LessonCompletionFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    """Ada holds Python Bootcamp (Python Basics, 3 of 5 done; Advanced Python, 4 lessons)."""
    owner = MembershipFactory(site__name="Demo Academy")
    site = owner.site
    basics = ProductFactory(site=site, title="Python Basics", lessons=5)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=4)
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", products=[basics, advanced])
    user = UserFactory(email="ada@example.com")
    ada = ContactFactory(site=site, name="Ada Lovelace", email="ada@example.com", user=user)
    creator = Actor.creator(owner.user)
    grant = services.grant_offer(contact=ada, offer=bootcamp, actor=creator).obj
    for lesson in basics.lessons.order_by("position")[:3]:
        LessonCompletionFactory(contact=ada, lesson=lesson)
    return {
        "site": site,
        "basics": basics,
        "advanced": advanced,
        "bootcamp": bootcamp,
        "user": user,
        "ada": ada,
        "grant": grant,
        "creator": creator,
    }


@pytest.fixture
def ada_client(client, school):
    client.force_login(school["user"])
    return client


def lesson_url(product, position):
    lesson = product.lessons.get(position=position)
    return reverse("library:lesson", args=[product.pk, lesson.pk])


def complete_url(product, position):
    lesson = product.lessons.get(position=position)
    return reverse("library:complete", args=[product.pk, lesson.pk])


def test_a_customer_lands_on_their_library_after_signing_in(school):
    client = Client()
    response = client.post(
        reverse("login"), {"username": "ada@example.com", "password": "kajaccess-demo"}
    )
    assert response.status_code == 302
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0] == reverse("library:index")
    assert "Python Basics" in response.text


def test_library_lists_the_products_with_progress(ada_client):
    response = ada_client.get(reverse("library:index"))
    assert response.status_code == 200
    text = response.text
    assert "Demo Academy" in text
    assert "Python Basics" in text and "3 of 5 lessons" in text
    assert "Advanced Python" in text and "0 of 4 lessons" in text
    # The customer's layout has no dashboard tabs.
    assert 'aria-label="Dashboard"' not in text


def test_library_needs_a_sign_in(client):
    response = client.get(reverse("library:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_with_no_contact_sees_a_friendly_empty_library(client):
    client.force_login(UserFactory())
    response = client.get(reverse("library:index"))
    assert response.status_code == 200
    assert "Your Library is empty" in response.text


def test_library_lists_products_of_every_site_where_the_user_is_a_contact(ada_client, school):
    other = ProductFactory(site__name="Other School", title="Watercolours", lessons=2)
    other_contact = ContactFactory(site=other.site, email="ada@example.com", user=school["user"])
    services.grant_offer(
        contact=other_contact,
        offer=OfferFactory(site=other.site, products=[other]),
        actor=Actor.system(),
    )
    text = ada_client.get(reverse("library:index")).text
    assert "Other School" in text and "Watercolours" in text and "Python Basics" in text
    assert ada_client.get(reverse("library:product", args=[other.pk])).status_code == 200


def test_product_page_lists_lessons_with_done_marks(ada_client, school):
    response = ada_client.get(reverse("library:product", args=[school["basics"].pk]))
    assert response.status_code == 200
    assert response.text.count("lesson-list__item--done") == 3
    assert response.text.count(">Not completed<") == 2
    assert "3 of 5 lessons" in response.text
    assert "Continue: Lesson 4" in response.text


def test_lesson_page_shows_mark_complete_until_done(ada_client, school):
    response = ada_client.get(lesson_url(school["basics"], 4))
    assert response.status_code == 200
    assert "Lesson 4 of 5" in response.text
    assert "Mark complete" in response.text
    response = ada_client.get(lesson_url(school["basics"], 1))
    assert "Mark complete" not in response.text
    assert "Completed" in response.text


def test_mark_complete_records_progress_and_activity(ada_client, school):
    ada = school["ada"]
    response = ada_client.post(complete_url(school["basics"], 4), follow=True)
    assert response.status_code == 200
    assert "“Lesson 4” marked complete." in response.text
    assert "4 of 5 lessons" in response.text
    ada.refresh_from_db()
    assert ada.last_activity_at is not None
    first_activity = ada.last_activity_at
    assert LessonCompletion.objects.filter(contact=ada).count() == 4

    response = ada_client.post(complete_url(school["basics"], 4), follow=True)
    assert "You had already completed “Lesson 4”." in response.text
    ada.refresh_from_db()
    assert ada.last_activity_at == first_activity
    assert LessonCompletion.objects.filter(contact=ada).count() == 4
    page = ada_client.get(reverse("library:index")).text
    assert "4 of 5 lessons" in page


def test_mark_complete_is_post_only(ada_client, school):
    response = ada_client.get(complete_url(school["basics"], 4))
    assert response.status_code == 405
    assert not LessonCompletion.objects.filter(contact=school["ada"], lesson__position=4).exists()


def test_mark_complete_needs_the_csrf_token(school):
    client = Client(enforce_csrf_checks=True)
    client.force_login(school["user"])
    response = client.post(complete_url(school["basics"], 4))
    assert response.status_code == 403
    assert LessonCompletion.objects.filter(contact=school["ada"]).count() == 3


def refused(client, product, position=1):
    """Every way into a product answers the same friendly 404."""
    urls = [
        reverse("library:product", args=[product.pk]),
        lesson_url(product, position),
    ]
    responses = [client.get(url) for url in urls]
    responses.append(client.post(complete_url(product, position)))
    return all(
        r.status_code == 404 and "This product isn&#x27;t in your Library." in r.text
        for r in responses
    )


def test_a_revoked_product_is_refused_and_leaves_the_library(ada_client, school):
    services.revoke_product(
        grant=school["grant"], product=school["advanced"], actor=school["creator"]
    )
    assert refused(ada_client, school["advanced"])
    text = ada_client.get(reverse("library:index")).text
    assert "Advanced Python" not in text
    assert "3 of 5 lessons" in text
    assert ada_client.get(reverse("library:product", args=[school["basics"].pk])).status_code == 200


def test_a_revoked_offer_is_refused(ada_client, school):
    services.revoke_grant(grant=school["grant"], actor=school["creator"])
    assert refused(ada_client, school["basics"])
    assert refused(ada_client, school["advanced"])
    assert "Your Library is empty" in ada_client.get(reverse("library:index")).text


def test_an_expired_grant_is_refused_even_before_the_sweep(ada_client, school):
    Grant.objects.filter(pk=school["grant"].pk).update(
        starts_at=timezone.now() - timedelta(days=31),
        expires_at=timezone.now() - timedelta(days=1),
    )
    refresh_access_facts(contact_ids=[school["grant"].contact_id])
    assert refused(ada_client, school["basics"])


def test_a_grant_that_has_not_started_is_refused(ada_client, school):
    Grant.objects.filter(pk=school["grant"].pk).update(starts_at=timezone.now() + timedelta(days=2))
    refresh_access_facts(contact_ids=[school["grant"].contact_id])
    assert refused(ada_client, school["basics"])


def test_another_sites_product_is_refused(ada_client):
    elsewhere = ProductFactory(lessons=2)
    grant_holder = ContactFactory(site=elsewhere.site)
    services.grant_offer(
        contact=grant_holder,
        offer=OfferFactory(site=elsewhere.site, products=[elsewhere]),
        actor=Actor.system(),
    )
    assert refused(ada_client, elsewhere)


def test_another_customers_lesson_is_refused(ada_client, school):
    coaching = ProductFactory(site=school["site"], title="Private Coaching", lessons=2)
    grace = ContactFactory(site=school["site"], user=UserFactory())
    services.grant_offer(
        contact=grace,
        offer=OfferFactory(site=school["site"], products=[coaching]),
        actor=school["creator"],
    )
    assert refused(ada_client, coaching, position=2)
    assert not LessonCompletion.objects.filter(lesson__product=coaching).exists()


def test_a_lesson_of_another_product_is_refused(ada_client, school):
    advanced_lesson = school["advanced"].lessons.get(position=1)
    url = reverse("library:lesson", args=[school["basics"].pk, advanced_lesson.pk])
    assert ada_client.get(url).status_code == 404
    url = reverse("library:complete", args=[school["basics"].pk, advanced_lesson.pk])
    assert ada_client.post(url).status_code == 404
    assert not LessonCompletion.objects.filter(lesson=advanced_lesson).exists()


def test_the_refusal_is_the_friendly_page_even_with_debug_on(ada_client, school, settings):
    settings.DEBUG = True
    services.revoke_grant(grant=school["grant"], actor=school["creator"])
    response = ada_client.get(reverse("library:product", args=[school["basics"].pk]))
    assert response.status_code == 404
    assert "We couldn't find that page" in response.text
    assert "Back to your Library" in response.text


def test_an_unknown_product_is_refused(ada_client):
    assert ada_client.get(reverse("library:product", args=[987654])).status_code == 404


def test_progress_is_kept_over_a_revoke_and_back_after_a_restore(ada_client, school):
    grant, creator = school["grant"], school["creator"]
    services.revoke_grant(grant=grant, actor=creator, reason="Chargeback")
    assert "Python Basics" not in ada_client.get(reverse("library:index")).text
    services.restore_access(grant=grant, actor=creator)
    text = ada_client.get(reverse("library:index")).text
    assert "Python Basics" in text and "3 of 5 lessons" in text
    product_page = ada_client.get(reverse("library:product", args=[school["basics"].pk]))
    assert product_page.text.count("lesson-list__item--done") == 3


def add_products(school, count):
    products = [ProductFactory(site=school["site"], lessons=3) for _ in range(count)]
    offer = OfferFactory(site=school["site"], products=products)
    services.grant_offer(contact=school["ada"], offer=offer, actor=school["creator"])
    for product in products:
        LessonCompletionFactory(contact=school["ada"], lesson=product.lessons.first())


def test_library_query_count_does_not_grow_with_products(
    ada_client, school, django_assert_num_queries
):
    add_products(school, 1)
    with django_assert_num_queries(5) as small:
        ada_client.get(reverse("library:index"))
    add_products(school, 20)
    with django_assert_num_queries(len(small.captured_queries)):
        response = ada_client.get(reverse("library:index"))
    assert response.text.count("card library-card") == 2 + 21


def test_product_and_lesson_query_counts_do_not_grow_with_lessons(
    ada_client, school, django_assert_num_queries
):
    small = ProductFactory(site=school["site"], lessons=2)
    large = ProductFactory(site=school["site"], lessons=40)
    offer = OfferFactory(site=school["site"], products=[small, large])
    services.grant_offer(contact=school["ada"], offer=offer, actor=school["creator"])
    for product in (small, large):
        for lesson in product.lessons.all()[:2]:
            LessonCompletionFactory(contact=school["ada"], lesson=lesson)
    with django_assert_num_queries(7):
        ada_client.get(reverse("library:product", args=[small.pk]))
    with django_assert_num_queries(7):
        ada_client.get(reverse("library:product", args=[large.pk]))
    small_lesson, large_lesson = lesson_url(small, 2), lesson_url(large, 30)
    with django_assert_num_queries(8):
        ada_client.get(small_lesson)
    with django_assert_num_queries(8):
        ada_client.get(large_lesson)


def other_customers_progress(school, customers: int) -> None:
    """`customers` other contacts of the site, each having completed every lesson of both."""
    others = Contact.objects.bulk_create(
        Contact(site=school["site"], email=f"other{n}@example.com", name=f"Other {n}")
        for n in range(customers)
    )
    lessons = list(Lesson.objects.filter(product__site=school["site"]))
    LessonCompletion.objects.bulk_create(
        LessonCompletion(contact=other, lesson=lesson, completed_at=timezone.now())
        for other in others
        for lesson in lessons
    )


def completions_read(contact) -> int:
    """On PostgreSQL, how many rows of lesson completions the Library's query reads."""
    sql, params = library_products(contact).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE products_lessoncompletion")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)

    def read(node) -> int:
        own = 0
        if node.get("Relation Name") == "products_lessoncompletion":
            rows = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            own = rows * node["Actual Loops"]
        return own + sum(read(child) for child in node.get("Plans", []))

    return read(plan[0]["Plan"])


def library_reads(ada_client, school):
    """The Library index and a lesson page: their queries, and the Library's text."""
    pages = [
        reverse("library:index"),
        reverse("library:product", args=[school["basics"].pk]),
        lesson_url(school["basics"], 2),
    ]
    with CaptureQueriesContext(connection) as queries:
        texts = [ada_client.get(url).text for url in pages]
    return len(queries), texts[0]


def test_the_library_costs_what_its_customer_holds_not_what_the_site_holds(ada_client, school):
    postgresql = connection.vendor == "postgresql"
    alone = library_reads(ada_client, school)
    read_alone = completions_read(school["ada"]) if postgresql else 0
    other_customers_progress(school, 2_000)
    crowded = library_reads(ada_client, school)
    assert crowded[0] == alone[0]
    assert "3 of 5 lessons" in crowded[1] and "0 of 4 lessons" in crowded[1]
    if postgresql:
        # 18,000 completions of others now: the Library still reads only Ada's own.
        assert completions_read(school["ada"]) == read_alone
    else:
        plan = sqlite_plan(library_products(school["ada"]))
        # Ada's grants, then their accesses; her completions by her own key.
        assert "USING INDEX purchases_grant_contact_id" in plan, plan
        assert "(contact_id=? AND lesson_id=?)" in plan, plan
        # Never a Product's accesses, every customer's, one Product after the other.
        assert "access_product_status" not in plan, plan
        assert "SCAN" not in plan, plan


def sqlite_plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())
