"""Bulk actions under real concurrency: PostgreSQL row locks, two workers at once."""

import threading

import pytest
from django.db import connection
from django.test import override_settings

from contacts.bulk import runner
from contacts.bulk.runner import run_bulk_action, start_bulk_action
from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.imports.steps import import_check, import_start, import_upload, preview_token
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

# Confirmed and queued; the test's threads are the workers.
QUEUE_ONLY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def queued_revoke(member, offer, ids) -> BulkAction:
    with override_settings(TASKS=QUEUE_ONLY):
        return start_bulk_action(
            site=member.site,
            user=member.user,
            action="revoke_offer",
            params={"offer": offer.pk},
            selection={"ids": ids},
        )


def run_together(*jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def work(job):
        try:
            barrier.wait()
            job()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_bulk_revokes_revoke_each_grant_once(postgres_only, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_SIZE", 7)
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    people = ContactFactory.create_batch(60, site=member.site)
    ids = [p.pk for p in people]
    services.grant_offer_to_contacts(offer=offer, contact_ids=ids, actor=Actor.creator(member.user))
    first, second = (queued_revoke(member, offer, chosen) for chosen in (ids[:45], ids[15:]))

    run_together(lambda: run_bulk_action(first.pk), lambda: run_bulk_action(second.pk))

    assert not Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).exists()
    events = AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED)
    assert events.count() == 60
    assert events.values("grant").distinct().count() == 60
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.changed + second.changed == 60
    assert first.skipped + second.skipped == 30  # the overlap, skipped by whoever came second


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_job_change_nothing_twice(postgres_only, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_SIZE", 5)
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    ids = [p.pk for p in ContactFactory.create_batch(40, site=member.site)]
    services.grant_offer_to_contacts(offer=offer, contact_ids=ids, actor=Actor.creator(member.user))
    job = queued_revoke(member, offer, ids)

    run_together(lambda: run_bulk_action(job.pk), lambda: run_bulk_action(job.pk))

    job.refresh_from_db()
    assert (job.status, job.processed, job.changed, job.skipped) == ("done", 40, 40, 0)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 40


def queued_import(member, offer, emails: list[str]) -> BulkAction:
    data = ("Email\n" + "\n".join(emails)).encode()
    contact_import = import_upload(site=member.site, user=member.user, name="f.csv", data=data)
    import_check(
        contact_import=contact_import, mapping=Mapping(email=0), choices=Choices(offer=offer)
    )
    with override_settings(TASKS=QUEUE_ONLY):
        return import_start(
            contact_import=contact_import, user=member.user, token=preview_token(contact_import)
        )


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_new_emails_add_each_contact_once(postgres_only, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_SIZE", 7)
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    emails = [f"new{i}@example.com" for i in range(40)]
    first = queued_import(member, offer, emails[:30])
    second = queued_import(member, offer, [email.upper() for email in emails[10:]])

    run_together(lambda: run_bulk_action(first.pk), lambda: run_bulk_action(second.pk))

    assert member.site.contacts.count() == 40
    # Whoever came second for a shared email goes on with the contact the other added.
    assert Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).count() == 40
    added = AccessEvent.objects.filter(kind=AccessEvent.Kind.CONTACT_ADDED)
    assert added.count() == 40 and added.values("contact").distinct().count() == 40
    first.refresh_from_db()
    second.refresh_from_db()
    counted = [bulk.outcome["counted"] for bulk in (first, second)]
    assert sum(c["added"] for c in counted) == 40
    assert sum(c["granted"] for c in counted) == 40
    assert first.processed + second.processed == 60
