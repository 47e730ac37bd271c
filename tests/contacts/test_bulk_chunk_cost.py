"""A bulk revoke and its Undo cost each chunk the same statements wherever the chunk lies in
the run: the last chunk of a long run is no dearer than the first, on either database."""

import pytest
from django.db import connection
from django.test import TestCase

from contacts.bulk import runner
from contacts.bulk.runner import start_bulk_action, start_undo
from contacts.models import Contact
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessStatus, BulkAction, Grant
from tests.factories import MembershipFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = 2_000
CHUNK = 250


@pytest.fixture
def bootcamp():
    """A creator and 2,000 customers of Python Bootcamp."""
    member = MembershipFactory()
    site = member.site
    offer = OfferFactory(site=site, title="Python Bootcamp", products=[ProductFactory(site=site)])
    contacts = Contact.objects.bulk_create(
        Contact(site=site, email=f"customer{n}@example.com", name=f"Customer {n}")
        for n in range(CUSTOMERS)
    )
    services.grant_offer_to_contacts(
        offer=offer, contact_ids=[c.pk for c in contacts], actor=Actor.creator(member.user)
    )
    return member, offer


def run_counting_each_chunk(bulk: BulkAction, monkeypatch) -> list[int]:
    """Run the bulk action; the statements of each of its chunks, from picking the chunk's
    contacts to saving its progress."""
    monkeypatch.setattr(runner, "CHUNK_SIZE", CHUNK)
    statements = 0
    started: list[int] = []
    costs: list[int] = []

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    action_for, record_chunk = runner.action_for, runner._record_chunk

    def chunk_starts(bulk):
        started.append(statements)
        return action_for(bulk)

    def chunk_ends(*args, **kwargs):
        record_chunk(*args, **kwargs)
        costs.append(statements - started[-1])

    monkeypatch.setattr(runner, "action_for", chunk_starts)
    monkeypatch.setattr(runner, "_record_chunk", chunk_ends)
    with connection.execute_wrapper(count):
        runner.run_bulk_action(bulk.pk)
    return costs


def test_the_last_chunk_of_a_bulk_revoke_and_of_its_undo_costs_what_the_first_does(
    bootcamp, monkeypatch
):
    member, offer = bootcamp
    with TestCase.captureOnCommitCallbacks(execute=False):
        revoke = start_bulk_action(
            site=member.site,
            user=member.user,
            action="revoke_offer",
            params={"offer": offer.pk},
            selection={
                "ids": list(Grant.objects.filter(offer=offer).values_list("contact_id", flat=True))
            },
        )
    costs = run_counting_each_chunk(revoke, monkeypatch)
    revoke.refresh_from_db()
    assert revoke.changed == CUSTOMERS
    assert not Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).exists()
    assert len(costs) == CUSTOMERS // CHUNK
    assert costs[-1] == costs[0], costs

    with TestCase.captureOnCommitCallbacks(execute=False):
        undo = start_undo(site=member.site, user=member.user, original=revoke)
    costs = run_counting_each_chunk(undo, monkeypatch)
    undo.refresh_from_db()
    assert undo.changed == CUSTOMERS
    assert Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).count() == CUSTOMERS
    assert len(costs) == CUSTOMERS // CHUNK
    assert costs[-1] == costs[0], costs
