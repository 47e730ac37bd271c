"""The access facts the lists read: kept by the services, exact at the instant access ends,
and held to their recomputation by `reconcile_access_facts`."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import Actor
from products.services import complete_lesson
from purchases.access import services
from purchases.access.facts import (
    catch_up_access_facts,
    chart_mondays,
    compact_access_counts,
    reconcile_access_facts,
    refresh_access_facts,
)
from purchases.models import (
    ContactStateCount,
    Grant,
    OfferCount,
    ProductCount,
    ProductHolder,
    ProductWeek,
)
from purchases.reports.selectors import offer_customer_counts, product_summaries

pytestmark = pytest.mark.django_db


def facts(contact):
    contact = Contact.objects.get(pk=contact.pk)
    return contact.is_customer, contact.products_count, contact.has_revoked_access


def summary(site, product):
    return next(s for s in product_summaries(site) if s.product == product)


def test_a_grant_a_revoke_and_a_restore_move_the_facts_at_once(academy):
    ada, grace, basics = academy.ada, academy.grace, academy.basics
    assert facts(ada) == (True, 3, False)
    assert facts(grace) == (False, 0, False)
    assert summary(academy.site, basics).with_access == 1

    services.revoke_product(
        grant=academy.bootcamp_grant, product=basics, actor=Actor.creator(academy.creator)
    )
    assert facts(ada) == (True, 2, True)
    basics_now = summary(academy.site, basics)
    assert (basics_now.with_access, basics_now.revoked, basics_now.holders) == (0, 1, 1)
    # Her progress stays counted while her access is revoked.
    assert basics_now.lessons_done == 3

    services.restore_access(
        grant=academy.bootcamp_grant, product=basics, actor=Actor.creator(academy.creator)
    )
    assert facts(ada) == (True, 3, False)

    services.grant_offer(
        contact=grace, offer=academy.bootcamp, actor=Actor.creator(academy.creator)
    )
    assert facts(grace) == (True, 2, False)
    assert summary(academy.site, basics).with_access == 2
    assert offer_customer_counts(academy.site)[academy.bootcamp.pk] == 2
    assert reconcile_access_facts() == []


def test_a_lesson_completed_counts_in_the_products_progress(academy):
    lesson = academy.basics.lessons.order_by("position").last()
    complete_lesson(contact=academy.ada, lesson=lesson)
    holder = ProductHolder.objects.get(contact=academy.ada, product=academy.basics)
    assert holder.lessons_done == 4
    assert summary(academy.site, academy.basics).lessons_done == 4


def test_access_that_ends_is_gone_from_the_lists_at_that_instant_not_at_the_sweep(academy, client):
    """The end passes (both moved back an hour, as time passing would) and no sweep ran."""
    ada, grant = academy.ada, academy.bootcamp_grant
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(starts_at=now - timedelta(days=1))
    grant.refresh_from_db()
    services.set_access_dates(
        grant=grant,
        starts_at=grant.starts_at,
        expires_at=now + timedelta(hours=1),
        actor=Actor.creator(academy.creator),
    )
    assert Contact.objects.get(pk=ada.pk).access_changes_at == now + timedelta(hours=1)
    Grant.objects.filter(pk=grant.pk).update(expires_at=now - timedelta(seconds=1))
    Contact.objects.filter(pk=ada.pk).update(access_changes_at=now - timedelta(seconds=1))

    client.force_login(academy.creator)
    page = client.get(reverse("contacts:list"), {"access": "has_access"})
    assert "Ada Lovelace" in page.content.decode()  # the Vault Membership still opens
    assert facts(ada) == (True, 1, False)
    assert summary(academy.site, academy.basics).expired == 1
    assert Grant.objects.get(pk=grant.pk).status == "active"  # the sweep has not run
    assert reconcile_access_facts() == []


def test_access_that_starts_later_counts_from_its_start(academy):
    later = timezone.now() + timedelta(days=3)
    services.grant_offer_to_contacts(
        offer=academy.bootcamp,
        contact_ids=[academy.grace.pk],
        actor=Actor.creator(academy.creator),
        starts_at=later,
    )
    assert facts(academy.grace) == (True, 0, False)
    assert summary(academy.site, academy.basics).starts_later == 1
    assert catch_up_access_facts(site=academy.site, now=later) == 1
    assert facts(academy.grace) == (True, 2, False)
    assert catch_up_access_facts(site=academy.site, now=later) == 0
    # Back to the present, for the check after the test.
    refresh_access_facts(contact_ids=[academy.grace.pk])


def test_reconcile_reports_a_difference_and_fix_repairs_it(academy, capsys):
    Contact.objects.filter(pk=academy.grace.pk).update(products_count=7)
    ProductHolder.objects.filter(contact=academy.ada, product=academy.basics).delete()
    ProductCount.objects.create(product=academy.advanced, access_rank=0, lessons_done=0, holders=5)
    OfferCount.objects.create(offer=academy.bootcamp, access_rank=0, holders=2)
    ContactStateCount.objects.create(site=academy.site, state="revoked", contacts=3)
    monday = chart_mondays(timezone.now())[-1]
    ProductWeek.objects.create(product=academy.basics, week=monday, granted=4, revoked=0)
    with pytest.raises(CommandError, match="differences found"):
        call_command("reconcile_access_facts")
    out = capsys.readouterr().out
    assert f"contact {academy.grace.pk}: summary" in out
    assert f"contact {academy.ada.pk}, product {academy.basics.pk}: missing" in out
    assert f"product count ({academy.advanced.pk}, 0, 0): 6 holders counted, 1 hold it" in out
    counted, held = map(
        int,
        re.search(
            rf"offer count \({academy.bootcamp.pk}, 0\): (\d+) holders counted, (\d+) hold it", out
        ).groups(),
    )
    assert counted == held + 2
    counted, are = map(
        int, re.search(rf"site {academy.site.pk}, revoked: (\d+) counted, (\d+) are", out).groups()
    )
    assert counted == are + 3
    week = re.search(
        rf"product {academy.basics.pk}, week of {monday}: \((\d+), (\d+)\) grants and revokes "
        r"counted, \((\d+), (\d+)\) made",
        out,
    )
    granted, revoked, made_granted, made_revoked = map(int, week.groups())
    assert (granted, revoked) == (made_granted + 4, made_revoked)

    call_command("reconcile_access_facts", "--fix")
    assert "repaired" in capsys.readouterr().out
    call_command("reconcile_access_facts")
    assert "0 differences" in capsys.readouterr().out
    assert facts(academy.grace) == (False, 0, False)
    assert summary(academy.site, academy.advanced).with_access == 1
    assert summary(academy.site, academy.basics).lessons_done == 3


def test_the_counters_change_rows_fold_into_one_per_counter(academy):
    for _ in range(3):
        services.revoke_grant(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
        services.restore_access(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
    before = summary(academy.site, academy.basics)
    rows = ProductCount.objects.filter(product=academy.basics).count()
    assert compact_access_counts() > 0
    assert ProductCount.objects.filter(product=academy.basics).count() < rows
    after = summary(academy.site, academy.basics)
    assert (after.with_access, after.holders, after.lessons_done) == (
        before.with_access,
        before.holders,
        before.lessons_done,
    )
    assert reconcile_access_facts() == []


def test_a_contact_deleted_in_the_admin_leaves_the_counters_with_its_grants(academy):
    from django.contrib import admin

    from contacts.admin import ContactAdmin

    assert summary(academy.site, academy.basics).holders == 1
    ContactAdmin(Contact, admin.site).delete_model(None, academy.ada)
    after = summary(academy.site, academy.basics)
    assert (after.holders, after.with_access, after.lessons_done) == (0, 0, 0)
    assert offer_customer_counts(academy.site) == {}
    assert reconcile_access_facts() == []
