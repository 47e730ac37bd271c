"""Faults and concurrency on PostgreSQL: real row locks, real database errors."""

import random
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from contacts.bulk import runner
from contacts.bulk.runner import run_bulk_action
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, BulkActionContact, Grant
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_threads(*jobs):
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


@pytest.fixture
def shop(postgres_only):
    owner = MembershipFactory()
    offer = OfferFactory(site=owner.site, products=[ProductFactory(site=owner.site, lessons=2)])
    contact = ContactFactory(site=owner.site, name="Ada Lovelace")
    return owner, offer, contact


def test_revokes_restores_and_grants_from_many_threads_end_consistent(shop):
    owner, offer, contact = shop
    actor = Actor.creator(owner.user)
    services.grant_offer(contact=contact, offer=offer, actor=actor)

    def worker(seed):
        rng = random.Random(seed)
        changed = 0
        for _ in range(6):
            grant = Grant.objects.filter(contact=contact, offer=offer).order_by("-pk").first()
            step = rng.choice(["revoke", "restore", "grant"])
            if step == "revoke":
                changed += services.revoke_grant(grant=grant, actor=actor).changed
            elif step == "restore":
                try:
                    changed += services.restore_access(grant=grant, actor=actor).changed
                except Exception:  # noqa: BLE001 - another grant took its place: refused
                    pass
            else:
                changed += services.grant_offer(contact=contact, offer=offer, actor=actor).changed
        return changed

    changes = sum(in_threads(*(lambda s=s: worker(s) for s in range(10))))

    grants = list(Grant.objects.filter(contact=contact, offer=offer))
    assert sum(g.status == AccessStatus.ACTIVE for g in grants) <= 1
    events = AccessEvent.objects.filter(contact=contact).order_by("pk")
    # One grant event to start with, then exactly one event per real change.
    assert events.count() == 1 + changes
    for grant in grants:
        kinds = list(events.filter(grant=grant).values_list("kind", flat=True))
        state = "revoked"
        for kind in kinds:  # access is switched on and off in turn, never twice the same way
            assert (kind in ("granted", "restored")) == (state == "revoked"), kinds
            state = "active" if kind in ("granted", "restored") else "revoked"
        assert grant.status == state


def test_a_double_clicked_confirmation_revokes_once(shop):
    owner, offer, contact = shop
    grant = services.grant_offer(contact=contact, offer=offer, actor=Actor.creator(owner.user)).obj
    url = reverse("contacts:revoke", args=[contact.pk, grant.pk])

    def click():
        client = Client()
        client.force_login(owner.user)
        response = client.post(url, {"reason": "Chargeback"}, headers={"HX-Request": "true"})
        return response.status_code, response.content.decode()

    results = in_threads(click, click)

    assert [status for status, _ in results] == [200, 200]
    said = sorted("already" in body for _, body in results)
    assert said == [False, True]  # one says it revoked, the other that it already was
    assert AccessEvent.objects.filter(grant=grant, kind=AccessEvent.Kind.REVOKED).count() == 1


def test_a_database_error_in_a_chunk_rolls_it_back_and_the_job_resumes(shop, monkeypatch):
    owner, offer, _ = shop
    ids = [c.pk for c in ContactFactory.create_batch(12, site=owner.site)]
    services.grant_offer_to_contacts(offer=offer, contact_ids=ids, actor=Actor.creator(owner.user))
    monkeypatch.setattr(runner, "CHUNK_SIZE", 5)
    real = services.revoke_grants
    calls = {"n": 0}

    def fails_once_after_writing(**kwargs):
        revoked = real(**kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")  # a real error from the database
        return revoked

    monkeypatch.setattr(services, "revoke_grants", fails_once_after_writing)
    job = BulkAction.objects.create(
        site=owner.site,
        created_by=owner.user,
        action="revoke_offer",
        params={"offer": offer.pk},
        selection={"ids": ids},
        total=len(ids),
    )
    # The contacts it was confirmed for, as confirming stores them.
    BulkActionContact.objects.bulk_create(
        BulkActionContact(bulk_action=job, contact_id=pk) for pk in ids
    )

    run_bulk_action(job.pk)

    job.refresh_from_db()
    assert (job.status, job.changed, job.failed) == ("done", 12, 0)
    assert not Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).exists()
    assert AccessEvent.objects.filter(bulk_action=job).count() == 12
