"""A bulk action whose worker died is queued again by the recovery and finishes,
changing nothing twice; a run that is still alive is left alone."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contacts.bulk import actions as bulk_actions
from contacts.bulk import runner
from contacts.bulk.recovery import resume_stalled_bulk_actions, resume_stalled_bulk_actions_task
from contacts.bulk.runner import run_bulk_action, run_bulk_action_task, start_bulk_action
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, BulkActionContact, Grant
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
STALL_SECONDS = 30


@pytest.fixture(autouse=True)
def stall_limit(settings):
    settings.BULK_ACTION_STALL_SECONDS = STALL_SECONDS


@pytest.fixture
def shop():
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    people = ContactFactory.create_batch(13, site=member.site)
    ids = [p.pk for p in people]
    services.grant_offer_to_contacts(
        offer=offer, contact_ids=ids[:11], actor=Actor.creator(member.user)
    )
    return member, offer, ids


@pytest.fixture
def clock(monkeypatch):
    """Moves the time every part of the app reads forward."""
    real_now = timezone.now

    def move(seconds: float):
        moment = real_now() + timedelta(seconds=seconds)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return move


def queue(member, offer, ids) -> BulkAction:
    """A bulk revoke recorded and queued, whose worker has not picked it up yet."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        return start_bulk_action(
            site=member.site,
            user=member.user,
            action="revoke_offer",
            params={"offer": offer.pk},
            selection={"ids": ids},
        )


@pytest.fixture
def killed_run(shop, monkeypatch):
    """A bulk revoke of 13 contacts whose worker died in its second chunk of four."""
    member, offer, ids = shop
    monkeypatch.setattr(runner, "CHUNK_SIZE", 4)
    bulk = queue(member, offer, ids)
    real = bulk_actions.RevokeOfferAction.execute
    calls = {"n": 0}

    def killed_in_second_chunk(self, contact_ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return real(self, contact_ids)

    monkeypatch.setattr(bulk_actions.RevokeOfferAction, "execute", killed_in_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_bulk_action(bulk.pk)
    # The next worker would run the real code.
    monkeypatch.setattr(bulk_actions.RevokeOfferAction, "execute", real)
    bulk.refresh_from_db()
    assert (bulk.status, bulk.processed, bulk.changed) == ("running", 4, 4)
    assert bulk.heartbeat_at is not None
    return bulk


def test_the_recovery_resumes_a_run_killed_in_the_middle_once_it_has_stalled(killed_run, clock):
    bulk = killed_run
    first_heartbeat = bulk.heartbeat_at

    # Ten seconds later it may still be working: the recovery leaves it alone.
    clock(10)
    assert resume_stalled_bulk_actions_task.call() == "0 stopped bulk actions queued again"
    bulk.refresh_from_db()
    assert (bulk.status, bulk.processed) == ("running", 4)

    clock(STALL_SECONDS + 1)
    assert resume_stalled_bulk_actions_task.call() == "1 stopped bulk action queued again"

    bulk.refresh_from_db()
    assert bulk.status == BulkAction.Status.DONE
    assert (bulk.total, bulk.processed, bulk.changed, bulk.skipped, bulk.failed) == (
        13,
        13,
        11,
        2,
        0,
    )
    assert bulk.outcome["skipped"] == {"no such grant": 2}
    assert bulk.heartbeat_at > first_heartbeat
    assert not Grant.objects.filter(status=AccessStatus.ACTIVE).exists()
    revoked = AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED)
    assert revoked.count() == 11
    assert revoked.values("grant").distinct().count() == 11
    assert set(revoked.values_list("bulk_action", flat=True)) == {bulk.pk}

    # Done is done: later sweeps do not queue it again.
    clock(STALL_SECONDS * 3)
    assert resume_stalled_bulk_actions() == []


def test_a_run_that_shows_signs_of_life_is_not_queued_again(shop, clock):
    member, offer, ids = shop
    running = queue(member, offer, ids)
    BulkAction.objects.filter(pk=running.pk).update(
        status=BulkAction.Status.RUNNING, heartbeat_at=timezone.now()
    )
    waiting = queue(member, offer, ids)

    clock(STALL_SECONDS - 1)
    assert resume_stalled_bulk_actions() == []
    running.refresh_from_db()
    waiting.refresh_from_db()
    assert (running.status, running.processed) == ("running", 0)
    assert (waiting.status, waiting.processed) == ("pending", 0)
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).exists()


def test_a_run_no_worker_ever_started_is_queued_again(shop, clock):
    member, offer, ids = shop
    bulk = queue(member, offer, ids)  # its task was lost before any worker took it

    clock(STALL_SECONDS + 1)
    assert resume_stalled_bulk_actions() == [bulk.pk]
    bulk.refresh_from_db()
    assert (bulk.status, bulk.changed) == ("done", 11)


def test_the_command_resumes_stopped_runs_and_says_which(killed_run, clock, capsys):
    call_command("resume_bulk_actions")
    assert capsys.readouterr().out == "No stopped bulk action to resume.\n"

    clock(STALL_SECONDS + 1)
    call_command("resume_bulk_actions")
    assert capsys.readouterr().out == f"Queued 1 stopped bulk action again: #{killed_run.pk}.\n"
    killed_run.refresh_from_db()
    assert (killed_run.status, killed_run.changed) == ("done", 11)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 11


@override_settings(TASKS=DB_TASKS)
def test_a_run_already_waiting_in_the_queue_is_not_queued_twice(shop, clock):
    member, offer, ids = shop
    lost = queue(member, offer, ids)  # recorded, but its task never reached the queue
    waiting = queue(member, offer, ids)
    run_bulk_action_task.enqueue(waiting.pk)  # queued, workers busy elsewhere

    clock(STALL_SECONDS + 1)
    assert resume_stalled_bulk_actions() == [lost.pk]
    assert resume_stalled_bulk_actions() == []
    queued = DBTaskResult.objects.filter(
        task_path=run_bulk_action_task.module_path, status=TaskResultStatus.READY
    )
    assert sorted(r.args_kwargs["args"][0] for r in queued) == [lost.pk, waiting.pk]


def test_the_page_of_a_stopped_run_says_it_will_resume(client, killed_run, clock):
    client.force_login(killed_run.created_by)
    url = reverse("bulk:detail", args=[killed_run.pk])
    htmx = {"HTTP_HX_REQUEST": "true"}

    fresh = client.get(url, **htmx).content.decode()
    assert "This run stopped" not in fresh
    assert 'hx-trigger="every 1s"' in fresh

    clock(STALL_SECONDS + 1)
    for response in (client.get(url), client.get(url, **htmx)):
        page = response.content.decode()
        assert "This run stopped; it will resume shortly." in page
        assert "4 of 13 contacts done" in page
        assert f'hx-get="{url}"' in page  # it keeps watching for the run to resume


@override_settings(TASKS=DB_TASKS)
def test_the_task_of_a_dead_run_is_marked_failed_and_its_page_says_where_it_stopped(
    client, killed_run, clock
):
    dead = DBTaskResult.objects.get(id=run_bulk_action_task.enqueue(killed_run.pk).id)
    dead.claim("killed-worker")  # the worker that took it, then died in its second chunk

    clock(STALL_SECONDS + 1)
    resumed_at = timezone.now()
    assert resume_stalled_bulk_actions() == [killed_run.pk]
    assert resume_stalled_bulk_actions() == []  # its new run already waits for a worker

    dead.refresh_from_db()
    assert dead.status == TaskResultStatus.FAILED
    assert dead.exception_class_path == "contacts.bulk.recovery.WorkerStopped"
    assert "The worker stopped at 4 of 13 contacts" in dead.traceback
    (waiting,) = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert waiting.args_kwargs["args"] == [killed_run.pk]

    run_bulk_action_task.call(*waiting.args_kwargs["args"])  # as the next free worker does
    killed_run.refresh_from_db()
    assert (killed_run.status, killed_run.changed) == ("done", 11)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 11

    client.force_login(killed_run.created_by)
    page = client.get(reverse("bulk:detail", args=[killed_run.pk])).content.decode()
    assert (
        "The worker running this stopped at 4 of 13; it was resumed at "
        f'<time datetime="{resumed_at:%Y-%m-%dT%H:%M:%SZ}">{resumed_at:%H:%M}</time>.'
    ) in page
    assert "Summary" in page


@pytest.mark.django_db(transaction=True)
def test_a_run_in_the_middle_of_a_slow_chunk_is_not_queued_again(postgres_only, shop):
    member, offer, ids = shop
    bulk = BulkAction.objects.create(
        site=member.site,
        created_by=member.user,
        action="revoke_offer",
        params={"offer": offer.pk},
        selection={"ids": ids},
        total=len(ids),
        status=BulkAction.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=STALL_SECONDS * 2),
    )
    # The contacts it was confirmed for, as confirming stores them.
    BulkActionContact.objects.bulk_create(
        BulkActionContact(bulk_action=bulk, contact_id=pk) for pk in ids
    )
    in_chunk, chunk_done = threading.Event(), threading.Event()

    def slow_chunk():
        try:
            with transaction.atomic():
                BulkAction.objects.select_for_update().get(pk=bulk.pk)
                in_chunk.set()
                chunk_done.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=slow_chunk)
    worker.start()
    try:
        assert in_chunk.wait(10)
        assert resume_stalled_bulk_actions() == []
    finally:
        chunk_done.set()
        worker.join()
    bulk.refresh_from_db()
    assert bulk.outcome == {}

    # Once the chunk is over and no other comes, it has stopped.
    assert resume_stalled_bulk_actions() == [bulk.pk]
    bulk.refresh_from_db()
    assert (bulk.status, bulk.changed) == ("done", 11)
