import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC
from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from kajaccess.actors import Actor
from products.models import LessonCompletion, Offer
from purchases.access import selectors
from purchases.access import services as access
from purchases.access.states import AccessState
from purchases.models import AccessEvent, Grant, ProductAccess
from purchases.offers import services as offers_services
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
)
from tests.products.conftest import complete

pytestmark = pytest.mark.django_db


def svg(html: str, chart: str) -> ET.Element:
    """The chart's <svg> element, parsed as XML."""
    match = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S)
    assert match, f"no {chart} chart"
    return ET.fromstring(match.group(0))


def bars(element: ET.Element) -> list[dict]:
    return [
        {
            "label": rect.get("data-label"),
            "value": int(rect.get("data-value")),
            "height": float(rect.get("height")),
            "kind": rect.get("data-kind"),
        }
        for rect in element.iter("rect")
        if "chart__bar" in rect.get("class", "")
    ]


def texts(element: ET.Element, css_class: str) -> list[str]:
    return [
        node.text
        for node in element.iter()
        if node.tag.endswith("text") and css_class in node.get("class", "").split()
    ]


def row_of(html: str, marker: str) -> str:
    """The table row holding `marker` (a regular expression)."""
    rows = [row for row in re.findall(r"<tr.*?</tr>", html, re.S) if re.search(marker, row)]
    assert len(rows) == 1, marker
    return rows[0]


# --- Products tab -----------------------------------------------------------------------


def test_products_tab_lists_each_product_with_counts_and_average(creator_client, academy):
    response = creator_client.get(reverse("products:list"))
    assert response.status_code == 200
    html = response.text
    basics = row_of(html, f'data-product="{academy["basics"].pk}"')
    assert "Python Basics" in basics and "Course" in basics
    assert re.search(r'data-column="lessons">5<', basics)
    assert re.search(r'data-column="with-access">2<', basics)
    assert re.search(r'data-column="revoked"><span class="badge badge--revoked">1<', basics)
    assert "36%" in basics
    advanced = row_of(html, f'data-product="{academy["advanced"].pk}"')
    assert re.search(r'data-column="lessons">4<', advanced) and "0%" in advanced
    assert 'aria-current="page">Products<' in html


def grow(academy, customers, products):
    offer = OfferFactory(site=academy["site"], products=[academy["basics"]])
    for _ in range(customers):
        contact = ContactFactory(site=academy["site"])
        access.grant_offer(contact=contact, offer=offer, actor=academy["creator"])
        complete(contact, academy["basics"], 2)
    for _ in range(products):
        ProductFactory(site=academy["site"], lessons=3)


def test_products_tab_runs_the_same_queries_at_two_sizes(
    creator_client, academy, django_assert_num_queries
):
    url = reverse("products:list")
    with django_assert_num_queries(6) as small:
        creator_client.get(url)
    grow(academy, customers=25, products=10)
    with django_assert_num_queries(len(small.captured_queries)):
        response = creator_client.get(url)
    basics = row_of(response.text, f'data-product="{academy["basics"].pk}"')
    assert re.search(r'data-column="with-access">27<', basics)
    # (9 + 25 x 2) lessons of 30 customers x 5 lessons.
    assert "39%" in basics


# --- Product Progress report -----------------------------------------------------------


def progress_url(academy, **params):
    url = reverse("products:progress", args=[academy["basics"].pk])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def test_progress_report_shows_every_customer_with_progress_and_state(creator_client, academy):
    response = creator_client.get(progress_url(academy))
    assert response.status_code == 200
    html = response.text
    ada = row_of(
        html,
        'data-access="active"[^>]*>\\s*<td[^>]*><span class="contact-cell"><a [^>]*><strong>Ada',
    )
    assert "3 of 5" in ada and "60%" in ada and "Has access" in ada
    edsger = row_of(html, "<strong>Edsger Dijkstra")
    assert "5 of 5" in edsger and "100%" in edsger and "Revoked" in edsger
    assert "Expired" in row_of(html, "<strong>Alan Turing")
    assert "Starts later" in row_of(html, "<strong>Barbara Liskov")
    assert "Export CSV" in html
    assert "Average completion" in html and "36%" in html


def test_the_products_offers_and_progress_pages_write_thousands_in_groups(creator_client, academy):
    site = academy["site"]
    learners = Contact.objects.bulk_create(
        Contact(site=site, email=f"learner{n}@example.com") for n in range(1_200)
    )
    access.grant_offer_to_contacts(
        offer=academy["bootcamp"],
        contact_ids=[contact.pk for contact in learners],
        actor=Actor.creator(academy["owner"].user),
    )
    progress = creator_client.get(progress_url(academy)).text
    assert "<dt>Customers with access</dt><dd>1,202</dd>" in progress
    assert "<dt>Customers in total</dt><dd>1,205</dd>" in progress
    assert 'Customers <span class="muted">(1,205)</span>' in progress
    products = creator_client.get(reverse("products:list")).text
    assert 'data-column="with-access">1,202</td>' in products
    offers = creator_client.get(reverse("products:offers")).text
    assert 'data-column="customers">1,202</td>' in offers


def test_progress_report_totals_add_up_to_every_customer_listed(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    totals = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", html))
    assert totals == {
        "Customers with access": "2",
        "Starts later": "1",
        "Access revoked": "1",
        "Expired": "1",
        "Customers in total": "5",
    }
    assert '<h2 id="customers-title">Customers <span class="muted">(5)</span></h2>' in html
    listed = re.findall(r'<tr[^>]*data-access="([a-z_]+)"', html)
    assert sorted(listed) == ["active", "active", "expired", "revoked", "scheduled"]


def test_progress_report_keeps_a_revoked_customers_progress(creator_client, academy):
    access.revoke_product(
        grant=academy["ada_grant"], product=academy["basics"], actor=academy["creator"]
    )
    html = creator_client.get(progress_url(academy, access="revoked")).text
    ada = row_of(html, "<strong>Ada Lovelace")
    assert "3 of 5" in ada and "Revoked" in ada
    assert "Grace Hopper" not in html
    assert "Edsger Dijkstra" in html


def test_progress_report_filters_by_access_state_and_search(creator_client, academy):
    html = creator_client.get(progress_url(academy, access="active")).text
    assert "Ada Lovelace" in html and "Grace Hopper" in html
    assert "Edsger Dijkstra" not in html and "Alan Turing" not in html
    html = creator_client.get(progress_url(academy, q="hopper")).text
    assert "Grace Hopper" in html and "Ada Lovelace" not in html


def test_progress_report_refuses_an_unknown_access_state(creator_client, academy):
    response = creator_client.get(progress_url(academy, access="everything"))
    assert response.status_code == 400
    assert "Pick an access state from the list." in response.text


def test_a_stale_progress_filter_lists_no_one_in_place_with_the_way_out(creator_client, academy):
    url = progress_url(academy, q="a", access="everything")
    for response in (creator_client.get(url), creator_client.get(url, HTTP_HX_REQUEST="true")):
        assert response.status_code == 400
        assert response.text.count("Pick an access state from the list.") == 1
        clear = reverse("products:progress", args=[academy["basics"].pk]) + "?q=a"
        assert f'<a href="{clear}">Clear that filter</a>' in response.text
        assert "Ada Lovelace" not in response.text
    partial = creator_client.get(url, HTTP_HX_REQUEST="true").text
    assert partial.lstrip().startswith('<div id="progress-report"')
    assert "<html" not in partial


def test_progress_report_sorts_by_percent(creator_client, academy):
    html = creator_client.get(progress_url(academy, sort="-percent")).text
    names = re.findall(r'<span class="contact-cell"><a [^>]*><strong>([^<]+)</strong>', html)
    assert names[:3] == ["Edsger Dijkstra", "Ada Lovelace", "Grace Hopper"]
    html = creator_client.get(progress_url(academy, sort="percent")).text
    names = re.findall(r'<span class="contact-cell"><a [^>]*><strong>([^<]+)</strong>', html)
    assert names[-1] == "Edsger Dijkstra"
    # A search typed next keeps that order: the sort goes with the filters' form.
    assert '<form id="progress-filters"' in html
    assert '<input type="hidden" name="sort" value="percent" form="progress-filters">' in html


def test_progress_report_answers_htmx_with_the_report_alone(creator_client, academy):
    response = creator_client.get(progress_url(academy, access="active"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="progress-report"')
    assert "<html" not in response.text
    assert "Ada Lovelace" in response.text and "Edsger Dijkstra" not in response.text


def test_search_over_htmx_narrows_the_table_and_sends_the_table_part_alone(creator_client, academy):
    response = creator_client.get(progress_url(academy, q="lov"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.text
    table = re.search(r'<div id="progress-report".*?</table>', html, re.S)[0]
    assert re.findall(r"<strong>([^<]+)</strong>", table) == ["Ada Lovelace"]
    assert '<span class="muted">(1)</span>' in html
    assert ">Clear filters</a>" in html
    assert ">Clear filters</a>" not in creator_client.get(progress_url(academy)).text
    # The completion chart follows the search, swapped in its own place.
    chart = re.search(r'<section id="completion-chart"[^>]*>', html)[0]
    assert 'hx-swap-oob="true"' in chart
    assert [b["value"] for b in bars(svg(html, "completion"))] == [0, 0, 0, 1, 0, 0]
    for whole_page_only in ("<html", "Customers with access", 'data-chart="weekly"', "id_q"):
        assert whole_page_only not in html


def test_the_search_needs_no_button_but_keeps_one_without_javascript(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    form = re.search(r'<form id="progress-filters".*?</form>', html, re.S)[0]
    assert 'hx-trigger="change, input changed delay:300ms from:#id_q, submit"' in form
    assert 'hx-push-url="true"' in form and 'hx-target="#progress-report"' in form
    assert re.search(r"<noscript><button[^>]*>Filter</button></noscript>", form)
    assert form.count("<button") == 1


def test_each_customer_links_to_their_contacts_preview(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    links = dict(
        (name, href)
        for href, name in re.findall(
            r'<a class="contact-cell__name" href="([^"]+)"[^>]*><strong>([^<]+)</strong>', html
        )
    )
    assert len(links) == 5
    for key, name in [("ada", "Ada Lovelace"), ("edsger", "Edsger Dijkstra")]:
        assert links[name] == reverse("contacts:preview", args=[academy[key].pk])
    # Not swapped into the report: the preview opens on the Contacts tab.
    assert re.search(r'<a class="contact-cell__name" [^>]*hx-boost="false"', html)


def test_the_charts_come_before_the_table(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    charts = html.index('class="progress-charts"')
    assert charts < html.index('data-chart="completion"') < html.index('id="progress-report"')
    assert charts < html.index('data-chart="weekly"') < html.index('id="progress-report"')


def test_completion_chart_bars_match_the_counts(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    chart = svg(html, "completion")
    drawn = bars(chart)
    assert [(b["label"], b["value"]) for b in drawn] == [
        ("0%", 2),
        ("1-25%", 1),
        ("26-50%", 0),
        ("51-75%", 1),
        ("76-99%", 0),
        ("100%", 1),
    ]
    tallest = max(b["height"] for b in drawn)
    assert tallest > 0
    for bar in drawn:
        assert bar["height"] == pytest.approx(tallest * bar["value"] / 2, abs=0.1)
    assert texts(chart, "chart__value") == ["2", "1", "0", "1", "0", "1"]
    assert texts(chart, "chart__label") == ["0%", "1-25%", "26-50%", "51-75%", "76-99%", "100%"]
    # The text alternative lists the same counts.
    assert re.search(r"<th scope=\"row\">51-75%</th><td>1</td>", html)


def test_completion_chart_follows_the_filter(creator_client, academy):
    html = creator_client.get(progress_url(academy, access="active")).text
    drawn = bars(svg(html, "completion"))
    assert [b["value"] for b in drawn] == [0, 1, 0, 1, 0, 0]


def test_weekly_chart_shows_grants_and_revokes(creator_client, academy):
    html = creator_client.get(progress_url(academy)).text
    drawn = bars(svg(html, "weekly"))
    assert len(drawn) == 24
    this_week = drawn[-2:]
    assert [(b["kind"], b["value"]) for b in this_week] == [("granted", 5), ("revoked", 1)]
    assert this_week[1]["height"] == pytest.approx(this_week[0]["height"] / 5, abs=0.1)
    assert all(b["height"] == 0 for b in drawn[:-2])
    assert "Grants and revokes per week" in html


def test_progress_report_runs_the_same_queries_at_two_sizes(
    creator_client, academy, django_assert_num_queries
):
    url = progress_url(academy)
    with django_assert_num_queries(11) as small:
        creator_client.get(url)
    grow(academy, customers=60, products=0)
    with django_assert_num_queries(len(small.captured_queries)):
        response = creator_client.get(url)
    assert "Page 1 of 2" in response.text


def test_a_search_over_htmx_runs_the_same_queries_at_two_sizes(
    creator_client, academy, django_assert_num_queries
):
    url = progress_url(academy, q="e")
    with django_assert_num_queries(9) as small:
        creator_client.get(url, HTTP_HX_REQUEST="true")
    grow(academy, customers=60, products=0)
    with django_assert_num_queries(len(small.captured_queries)):
        response = creator_client.get(url, HTTP_HX_REQUEST="true")
    assert "Page 1 of 2" in response.text


def test_export_csv_streams_the_filtered_rows(creator_client, academy):
    response = creator_client.get(
        reverse("products:progress_csv", args=[academy["basics"].pk]) + "?access=active"
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="python-basics-progress.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Name",
        "Email",
        "Lessons completed",
        "Lessons total",
        "Percent",
        "Last activity",
        "Access",
    ]
    assert [row[0] for row in rows[1:]] == ["Ada Lovelace", "Grace Hopper"]
    assert rows[1][1:5] == ["ada@example.com", "3", "5", "60"]
    last = LessonCompletion.objects.filter(
        contact=academy["ada"], lesson__product=academy["basics"]
    ).latest("completed_at")
    # In UTC, to the second, as every export writes a moment.
    assert rows[1][5] == last.completed_at.astimezone(UTC).isoformat(timespec="seconds")
    assert rows[1][6] == "Has access"


def test_a_streamed_export_is_planned_for_all_its_rows(postgres_only, creator_client, academy):
    """PostgreSQL plans a server-side cursor for its first tenth by default: the Progress
    CSV's rows were walked by index, in twice the time of reading them at once."""
    plans = []

    def planned(execute, sql, params, many, context):
        if "purchases_productholder" in sql:
            with context["connection"].cursor() as cursor:
                cursor.execute("SHOW cursor_tuple_fraction")
                plans.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(planned):
        response = creator_client.get(reverse("products:progress_csv", args=[academy["basics"].pk]))
        assert b"Ada Lovelace" in b"".join(response.streaming_content)
    assert plans and set(plans) == {"1"}


def test_export_csv_keeps_a_formula_as_text(creator_client, academy):
    academy["ada"].name = "=HYPERLINK(1)"
    academy["ada"].save(update_fields=["name"])
    response = creator_client.get(reverse("products:progress_csv", args=[academy["basics"].pk]))
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


def test_export_csv_refuses_bad_filters(creator_client, academy):
    response = creator_client.get(
        reverse("products:progress_csv", args=[academy["basics"].pk]) + "?access=nope"
    )
    assert response.status_code == 400


# --- Offers tab --------------------------------------------------------------------------


def test_offers_tab_lists_live_offers(creator_client, academy):
    trial = OfferFactory(
        site=academy["site"],
        title="30-Day Trial",
        price=Decimal("0"),
        payment_type=Offer.PaymentType.FREE,
        access_days=30,
        products=[academy["basics"]],
    )
    OfferFactory(
        site=academy["site"],
        title="Coaching Plan",
        price=Decimal("150"),
        payment_type=Offer.PaymentType.PAYMENT_PLAN,
        installments=3,
    )
    response = creator_client.get(reverse("products:offers"))
    assert response.status_code == 200
    html = response.text
    bootcamp = row_of(html, f'data-offer="{academy["bootcamp"].pk}"')
    assert "One-time payment" in bootcamp and "99.00 USD" in bootcamp
    assert "Python Basics" in bootcamp and "Advanced Python" in bootcamp
    # Ada and Grace; Alan's grant has expired, Barbara's has not started, Edsger's is revoked.
    assert 'data-column="customers">2<' in bootcamp
    assert "Restrict access to a specific amount of days" not in bootcamp
    trial_row = row_of(html, f'data-offer="{trial.pk}"')
    assert "Free" in trial_row
    assert "Restrict access to a specific amount of days: 30 days" in trial_row
    assert "3 × 150.00 USD a month" in html
    assert "Deleted offers" not in html
    assert 'aria-current="page">Offers<' in html


def test_create_an_offer(creator_client, academy):
    response = creator_client.get(reverse("products:offer_create"))
    assert response.status_code == 200
    assert "Restrict access to a specific amount of days" in response.text
    assert "new grants only" in response.text
    response = creator_client.post(
        reverse("products:offer_create"),
        {
            "title": "Advanced Only",
            "products": [academy["advanced"].pk],
            "payment_type": "subscription",
            "price": "19.00",
            "interval": "month",
            "installments": "",
            "access_days": "",
        },
        follow=True,
    )
    assert "“Advanced Only” created." in response.text
    offer = Offer.objects.get(title="Advanced Only")
    assert (offer.site, offer.payment_type, list(offer.products.all())) == (
        academy["site"],
        "subscription",
        [academy["advanced"]],
    )


def offer_post(academy, **changes):
    data = {
        "title": "Python Bootcamp",
        "products": [academy["basics"].pk, academy["advanced"].pk],
        "payment_type": "one_time",
        "price": "99.00",
        "interval": "month",
        "installments": "",
        "access_days": "",
    }
    data.update(changes)
    return data


def test_bad_offer_input_is_a_400_with_a_clear_message(creator_client, academy):
    url = reverse("products:offer_edit", args=[academy["bootcamp"].pk])
    response = creator_client.post(url, offer_post(academy, payment_type="subscription", price="0"))
    assert response.status_code == 400
    assert "Set a price above 0, or make the offer free." in response.text
    response = creator_client.post(url, offer_post(academy, payment_type="payment_plan"))
    assert response.status_code == 400
    assert "A payment plan needs a number of payments" in response.text
    response = creator_client.post(url, offer_post(academy, access_days="0", title=""))
    assert response.status_code == 400
    assert "This field is required." in response.text
    other_product = ProductFactory(lessons=1)
    response = creator_client.post(url, offer_post(academy, products=[other_product.pk]))
    assert response.status_code == 400
    assert "Choose one of the options in the list." in response.text
    academy["bootcamp"].refresh_from_db()
    assert academy["bootcamp"].payment_type == "one_time"
    assert list(academy["bootcamp"].products.order_by("title")) == [
        academy["advanced"],
        academy["basics"],
    ]


# Each payment type posted with every other type's fields too: what it saves.
EVERY_PRICING_FIELD = {"price": "49.00", "interval": "year", "installments": "6"}
SAVED_AS = {
    "free": (Decimal("0"), "month", None),
    "one_time": (Decimal("49.00"), "month", None),
    "subscription": (Decimal("49.00"), "year", None),
    "payment_plan": (Decimal("49.00"), "year", 6),
}


@pytest.mark.parametrize("payment_type", list(SAVED_AS))
def test_an_offer_saves_only_the_fields_its_payment_type_gives_a_meaning(
    creator_client, academy, payment_type
):
    response = creator_client.post(
        reverse("products:offer_create"),
        {
            **offer_post(academy, title="Summer School", payment_type=payment_type),
            **EVERY_PRICING_FIELD,
        },
    )
    assert response.status_code == 302, response.text
    offer = Offer.objects.get(title="Summer School")
    assert (offer.price, offer.interval, offer.installments) == SAVED_AS[payment_type]
    assert offer.payment_type == payment_type


def test_a_free_offer_edited_with_a_price_left_in_the_form_saves_without_it(
    creator_client, academy
):
    url = reverse("products:offer_edit", args=[academy["bootcamp"].pk])
    response = creator_client.post(url, offer_post(academy, payment_type="free", price="99.00"))
    assert response.status_code == 302
    assert "A free offer has no price" not in creator_client.get(response["Location"]).text
    academy["bootcamp"].refresh_from_db()
    assert (academy["bootcamp"].payment_type, academy["bootcamp"].price) == ("free", Decimal("0"))


def test_an_offer_without_products_is_refused_next_to_the_products(creator_client, academy):
    offers = Offer.objects.count()
    data = offer_post(academy, title="Summer School")
    del data["products"]
    response = creator_client.post(reverse("products:offer_create"), data)
    assert response.status_code == 400
    products = re.search(
        r'<fieldset class="offer-form__products[^"]*"[^>]*>.*?</fieldset>', response.text, re.S
    )
    assert 'aria-describedby="id_products_errors"' in products[0]
    assert "Pick at least one product: an offer gives access to its products." in products[0]
    assert Offer.objects.count() == offers

    url = reverse("products:offer_edit", args=[academy["bootcamp"].pk])
    response = creator_client.post(url, offer_post(academy, products=[]))
    assert response.status_code == 400
    assert "Pick at least one product" in response.text
    assert academy["bootcamp"].products.count() == 2


def test_the_offer_form_describes_each_payment_type_and_capitalises_intervals(
    creator_client, academy
):
    html = creator_client.get(reverse("products:offer_create")).text
    for value, description in [
        ("free", "Customers get access without paying"),
        ("one_time", "Customers pay the price once."),
        ("subscription", "every month or year, and keep access until the subscription"),
        ("payment_plan", "a set number of times"),
    ]:
        radio = re.search(rf'<input type="radio" name="payment_type" value="{value}"[^>]*>', html)
        described_by = re.search(r'aria-describedby="([^"]+)"', radio[0])[1]
        assert re.search(rf'id="{described_by}">[^<]*{description}', html), value
    interval = re.search(r'<select name="interval".*?</select>', html, re.S)[0]
    assert re.findall(r"<option[^>]*>([^<]+)</option>", interval) == ["Month", "Year"]
    assert [label for _, label in Offer.Interval.choices] == ["Month", "Year"]
    # A new offer's price is to be typed, not a 0 that a paid type refuses.
    assert re.search(r'<input type="number" name="price"(?![^>]*value=)[^>]*>', html)


def test_an_assistants_offer_form_has_no_payment_fields(client, academy):
    assistant = MembershipFactory(site=academy["site"], role="assistant")
    client.force_login(assistant.user)
    html = client.get(reverse("products:offer_edit", args=[academy["bootcamp"].pk])).text
    assert 'name="products"' in html and 'name="access_days"' in html
    for name in ("payment_type", "price", "interval", "installments"):
        assert f'name="{name}"' not in html


def test_editing_products_previews_who_is_affected_before_saving(creator_client, academy):
    workbook = ProductFactory(site=academy["site"], title="Workbook", lessons=1)
    url = reverse("products:offer_edit", args=[academy["bootcamp"].pk])
    data = offer_post(academy, products=[academy["basics"].pk, workbook.pk])
    events = AccessEvent.objects.count()

    preview = creator_client.post(url, data)
    assert preview.status_code == 200
    assert "4 customers gain access to Workbook" in preview.text
    assert "4 customers lose access to Advanced Python" in preview.text
    assert "Save and change access" in preview.text
    assert AccessEvent.objects.count() == events
    assert not academy["bootcamp"].products.filter(pk=workbook.pk).exists()

    key = re.search(r'name="confirmed_products" value="([^"]*)"', preview.text).group(1)
    response = creator_client.post(url, {**data, "confirmed_products": key}, follow=True)
    assert "“Python Bootcamp” saved." in response.text
    assert "“Workbook” added to “Python Bootcamp” for 4 customers." in response.text
    assert AccessEvent.objects.count() == events + 8
    assert selectors.has_access(academy["ada"], workbook)
    assert not selectors.has_access(academy["ada"], academy["advanced"])


def test_a_confirmation_of_another_choice_previews_again(creator_client, academy):
    workbook = ProductFactory(site=academy["site"], title="Workbook", lessons=1)
    url = reverse("products:offer_edit", args=[academy["bootcamp"].pk])
    data = offer_post(academy, products=[academy["basics"].pk, workbook.pk])
    response = creator_client.post(url, {**data, "confirmed_products": str(workbook.pk)})
    assert response.status_code == 200
    assert "Save and change access" in response.text
    assert not academy["bootcamp"].products.filter(pk=workbook.pk).exists()


def test_changes_that_reach_nobody_save_at_once(creator_client, academy):
    offer = OfferFactory(site=academy["site"], title="Empty Offer")
    url = reverse("products:offer_edit", args=[offer.pk])
    response = creator_client.post(
        url,
        offer_post(academy, title="Empty Offer", products=[academy["basics"].pk], access_days=14),
    )
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.access_days == 14
    assert list(offer.products.all()) == [academy["basics"]]


def test_changes_hint_counts_customers_on_the_server(creator_client, academy):
    workbook = ProductFactory(site=academy["site"], title="Workbook", lessons=1)
    url = reverse("products:offer_changes", args=[academy["bootcamp"].pk])
    response = creator_client.get(
        url, {"products": [academy["basics"].pk, workbook.pk]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "4 customers gain access to Workbook" in response.text
    assert "4 customers lose access to Advanced Python" in response.text
    response = creator_client.get(url, {"products": [ProductFactory().pk]})
    assert response.status_code == 400


def test_delete_offer_asks_first_then_soft_deletes_without_touching_access(creator_client, academy):
    bootcamp = academy["bootcamp"]
    url = reverse("products:offer_delete", args=[bootcamp.pk])
    page = creator_client.get(url)
    assert page.status_code == 200
    assert "Existing customers keep their access to its products" in page.text
    assert "can no longer be granted or sold" in page.text
    dialog = creator_client.get(url, HTTP_HX_REQUEST="true")
    assert dialog.text.lstrip().startswith('<dialog class="dialog" data-autoshow')
    assert "Cancel" in dialog.text and "Delete offer" in dialog.text

    grants = list(Grant.objects.order_by("pk").values_list("pk", "status", "expires_at"))
    accesses = list(ProductAccess.objects.order_by("pk").values_list("pk", "status"))
    events = AccessEvent.objects.count()
    response = creator_client.post(url, follow=True)
    assert "“Python Bootcamp” deleted." in response.text
    assert "Deleted offers" in response.text and "Restore offer" in response.text
    assert list(Grant.objects.order_by("pk").values_list("pk", "status", "expires_at")) == grants
    assert list(ProductAccess.objects.order_by("pk").values_list("pk", "status")) == accesses
    assert AccessEvent.objects.count() == events
    assert bootcamp not in Offer.objects.live()
    assert selectors.has_access(academy["ada"], academy["basics"])
    assert creator_client.get(reverse("products:offer_edit", args=[bootcamp.pk])).status_code == (
        404
    )


def test_delete_and_restore_over_htmx_swap_the_offers_and_close_the_dialog(creator_client, academy):
    bootcamp = academy["bootcamp"]
    response = creator_client.post(
        reverse("products:offer_delete", args=[bootcamp.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "closeDialog" in json.loads(response["HX-Trigger"])
    assert response.text.lstrip().startswith('<div id="offers"')
    assert 'id="messages" hx-swap-oob="beforeend"' in response.text and "deleted." in response.text
    response = creator_client.post(
        reverse("products:offer_restore", args=[bootcamp.pk]), HTTP_HX_REQUEST="true"
    )
    assert "“Python Bootcamp” restored" in response.text
    assert "Deleted offers" not in response.text
    assert bootcamp in Offer.objects.live()


def test_restore_offer_is_post_only(creator_client, academy):
    offers_services.delete_offer(offer=academy["bootcamp"], actor=academy["creator"])
    url = reverse("products:offer_restore", args=[academy["bootcamp"].pk])
    assert creator_client.get(url).status_code == 405
    assert academy["bootcamp"] not in Offer.objects.live()
    response = creator_client.post(url, follow=True)
    assert "can be granted and sold again" in response.text
    assert academy["bootcamp"] in Offer.objects.live()


def test_changes_need_the_csrf_token(academy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(academy["owner"].user)
    response = client.post(reverse("products:offer_delete", args=[academy["bootcamp"].pk]))
    assert response.status_code == 403
    assert academy["bootcamp"] in Offer.objects.live()


def test_offers_tab_runs_the_same_queries_at_two_sizes(
    creator_client, academy, django_assert_num_queries
):
    url = reverse("products:offers")
    with django_assert_num_queries(7) as small:
        creator_client.get(url)
    for i in range(15):
        offer = OfferFactory(site=academy["site"], products=[academy["basics"]])
        access.grant_offer(
            contact=ContactFactory(site=academy["site"]), offer=offer, actor=academy["creator"]
        )
        if i % 3 == 0:
            offers_services.delete_offer(offer=offer, actor=academy["creator"])
    with django_assert_num_queries(len(small.captured_queries)):
        creator_client.get(url)


# --- Only a site's own team, only its own objects ---------------------------------------


def every_url(academy):
    product, offer = academy["basics"].pk, academy["bootcamp"].pk
    return [
        ("get", reverse("products:progress", args=[product])),
        ("get", reverse("products:progress_csv", args=[product])),
        ("get", reverse("products:offer_edit", args=[offer])),
        ("post", reverse("products:offer_edit", args=[offer])),
        ("get", reverse("products:offer_changes", args=[offer])),
        ("get", reverse("products:offer_delete", args=[offer])),
        ("post", reverse("products:offer_delete", args=[offer])),
        ("post", reverse("products:offer_restore", args=[offer])),
    ]


def test_another_sites_ids_are_404(client, academy):
    other = MembershipFactory(site__name="Other School")
    client.force_login(other.user)
    for method, url in every_url(academy):
        response = getattr(client, method)(url, offer_post(academy) if method == "post" else {})
        assert response.status_code == 404, url
    assert academy["bootcamp"] in Offer.objects.live()
    html = client.get(reverse("products:list")).text
    assert "Python Basics" not in html
    assert "Python Bootcamp" not in client.get(reverse("products:offers")).text


def test_customers_cannot_open_the_dashboard(client, academy):
    academy["ada"].user = UserFactory()
    academy["ada"].save(update_fields=["user"])
    client.force_login(academy["ada"].user)
    urls = [("get", reverse("products:list")), ("get", reverse("products:offers"))]
    for method, url in urls + every_url(academy):
        assert getattr(client, method)(url).status_code == 404, url


def test_sign_in_is_required(client, academy):
    for method, url in [("get", reverse("products:list"))] + every_url(academy):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_get_on_changing_urls_is_405_or_a_confirmation(creator_client, academy):
    offer = academy["bootcamp"].pk
    assert creator_client.get(reverse("products:offer_restore", args=[offer])).status_code == 405
    assert creator_client.delete(reverse("products:offer_delete", args=[offer])).status_code == 405
    assert creator_client.post(reverse("products:list")).status_code == 405
    assert creator_client.post(reverse("products:offers")).status_code == 405
    assert academy["bootcamp"] in Offer.objects.live()


def test_an_assistant_cannot_open_products_nor_delete_offers(client, academy):
    assistant = MembershipFactory(site=academy["site"], role="assistant")
    client.force_login(assistant.user)
    assert client.get(reverse("products:offers")).status_code == 200
    assert client.get(reverse("products:list")).status_code == 403
    response = client.post(reverse("products:offer_delete", args=[academy["bootcamp"].pk]))
    assert response.status_code == 403
    assert "Your role, Assistant, cannot delete or restore offers." in response.content.decode()
    assert academy["bootcamp"] in Offer.objects.live()


def test_an_administrator_sees_the_owners_tabs(client, academy):
    admin = MembershipFactory(site=academy["site"], role="admin")
    client.force_login(admin.user)
    assert client.get(reverse("products:list")).status_code == 200
    response = client.post(reverse("products:offer_delete", args=[academy["bootcamp"].pk]))
    assert response.status_code == 302
    assert academy["bootcamp"] not in Offer.objects.live()


def _walk(client, url, step="next"):
    """Every row's contact id, following `step` links from `url` to the end; the pages seen."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.context["table"].page
        seen += [record.pk for record in page.object_list]
        pages += 1
        query = page.links.get(step)
        url = f"{url.split('?')[0]}{query}" if query else None
    return seen, pages


@pytest.mark.parametrize(
    "sort",
    [
        "name",
        "-name",
        "lessons_done",
        "-percent",
        "last_completed_at",
        "-last_completed_at",
        "access_rank",
        "-access_rank",
    ],
)
def test_progress_pages_by_keyset_hold_every_customer_once_in_order(creator_client, academy, sort):
    grow(academy, customers=23, products=0)
    holders = academy["basics"].holders.count()
    url = progress_url(academy, sort=sort, per_page=10)
    forwards, pages = _walk(creator_client, url)
    assert sorted(forwards) == sorted(academy["basics"].holders.values_list("contact", flat=True))
    assert len(forwards) == holders and pages == -(-holders // 10)
    # From the last page back, Previous gives the same rows in the same order.
    backwards, _ = _walk(
        creator_client, progress_url(academy, sort=sort, per_page=10, page="last"), step="previous"
    )
    last = creator_client.get(progress_url(academy, sort=sort, per_page=10, page="last"))
    assert f"Page {pages} of {pages}" in last.text
    assert set(backwards) == set(forwards)


def test_a_forged_or_foreign_progress_page_link_is_refused_with_the_first_page(
    creator_client, academy
):
    grow(academy, customers=60, products=0)
    contacts_tab = creator_client.get(reverse("contacts:list") + "?per_page=10")
    foreign = QueryDict(contacts_tab.context["table"].page.links["next"].lstrip("?"))["page"]
    for page in ("nonsense", foreign):
        response = creator_client.get(progress_url(academy, page=page))
        assert response.status_code == 400, page
        assert 'role="alert"' in response.text
        assert "Page 1 of 2" in response.text


def test_the_progress_count_filtered_by_access_comes_from_the_counters(creator_client, academy):
    url = progress_url(academy, access="revoked")
    response = creator_client.get(url)
    shown = response.context["shown"]
    assert shown == academy["basics"].holders.filter(access_rank=AccessState.REVOKED.rank).count()
    assert f'Customers <span class="muted">({shown})</span>' in response.text
