"""A worker killed (SIGKILL) in the middle of a bulk revoke is replaced: the scheduler's
recovery queues the run again, another worker finishes it, nothing is changed twice, and
the dead worker's task is marked failed.

Real processes against the test database: `manage.py db_worker` twice and
`manage.py run_scheduler`, with the stall limit and the recovery's schedule shortened
from 30 and 20 seconds to 2 and 1, so that the test takes seconds, not a minute.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contacts.bulk.runner import run_bulk_action_task, start_bulk_action
from contacts.models import Contact
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

ROOT = Path(__file__).resolve().parent.parent
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CONTACTS = 4000  # about six seconds of work for one worker: eight chunks of 500
STALL_SECONDS = 2
KILLED_AFTER = 1000  # contacts done when the first worker is killed
DEADLINE = 45  # seconds from the kill to the end of the run, at most


def url_of_the_test_database() -> str:
    db = connection.settings_dict
    login = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{login}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class Processes:
    """The app's processes that the test starts; each one is killed, whatever happens."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kajaccess.settings",
            "DATABASE_URL": url_of_the_test_database(),
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "BULK_ACTION_STALL_SECONDS": str(STALL_SECONDS),
            "BULK_ACTION_RECOVERY_SCHEDULE": "* * * * * *",
        }

    def start(self, name: str, *command: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def kill_all(self) -> None:
        for name in list(self.running):
            self.kill(name)

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(self.logs.glob("*")))


def wait_for(condition, *, seconds: float, what: str, processes: Processes):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {seconds} s\n{processes.output()}")


def no_other_connections() -> bool:
    """No other connection to this database is in the middle of a statement or transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state IN ('active', 'idle in transaction')"
        )
        return cursor.fetchone()[0] == 0


def worker(processes: Processes, name: str) -> subprocess.Popen:
    return processes.start(
        name, "db_worker", "--no-reload", "--interval", "0.2", "--worker-id", name
    )


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_a_run_whose_worker_is_killed_is_finished_by_another_changing_nothing_twice(
    postgres_only, processes, client
):
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    people = Contact.objects.bulk_create(ContactFactory.build_batch(CONTACTS, site=member.site))
    ids = [person.pk for person in people]
    services.grant_offer_to_contacts(offer=offer, contact_ids=ids, actor=Actor.creator(member.user))

    worker(processes, "first-worker")
    bulk = start_bulk_action(
        site=member.site,
        user=member.user,
        action="revoke_offer",
        params={"offer": offer.pk},
        selection={"ids": ids},
    )

    def in_progress():
        bulk.refresh_from_db()
        return bulk.processed >= KILLED_AFTER

    wait_for(in_progress, seconds=30, what="the first 1,000 contacts", processes=processes)
    processes.kill("first-worker")
    killed_at = timezone.now()
    # A COMMIT the worker sent just before it died still completes on the server: read
    # where the run stopped once the dead worker's connections are gone.
    wait_for(
        no_other_connections,
        seconds=10,
        what="the dead worker's connections to close",
        processes=processes,
    )
    bulk.refresh_from_db()
    stopped_at, last_heartbeat = bulk.processed, bulk.heartbeat_at
    assert bulk.status == BulkAction.Status.RUNNING
    assert KILLED_AFTER <= stopped_at < CONTACTS, "the run must be killed in its middle"
    (dead,) = DBTaskResult.objects.filter(task_path=run_bulk_action_task.module_path)
    assert dead.status == TaskResultStatus.RUNNING  # and it would stay so, with no recovery

    worker(processes, "second-worker")
    processes.start("scheduler", "run_scheduler", "-v", "2")

    def done():
        bulk.refresh_from_db()
        return bulk.status == BulkAction.Status.DONE

    wait_for(done, seconds=DEADLINE, what="the end of the run", processes=processes)

    # Resumed once, from where it stopped, soon after its heartbeat went quiet (the start
    # of the second worker and of the scheduler included), and not before.
    (stop,) = bulk.stops
    assert (stop["processed"], stop["total"]) == (stopped_at, CONTACTS)
    assert stop["resumed_at"] - last_heartbeat >= timedelta(seconds=STALL_SECONDS)
    assert stop["resumed_at"] - killed_at < timedelta(seconds=STALL_SECONDS + 20)
    assert (bulk.total, bulk.processed, bulk.changed, bulk.skipped, bulk.failed) == (
        CONTACTS,
        CONTACTS,
        CONTACTS,
        0,
        0,
    )

    # Every grant revoked, each exactly once, all by this bulk action.
    assert not Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).exists()
    revoked = AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED)
    assert revoked.count() == CONTACTS
    assert revoked.values("grant").distinct().count() == CONTACTS
    assert set(revoked.values_list("bulk_action", flat=True)) == {bulk.pk}

    # The dead worker's task is failed and says why; the second worker's run succeeded.
    dead.refresh_from_db()
    assert dead.status == TaskResultStatus.FAILED
    assert dead.exception_class_path == "contacts.bulk.recovery.WorkerStopped"
    assert f"The worker stopped at {stopped_at} of {CONTACTS} contacts" in dead.traceback
    runs = DBTaskResult.objects.filter(task_path=run_bulk_action_task.module_path)
    assert sorted(runs.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]
    assert runs.get(status="SUCCESSFUL").worker_ids == ["second-worker"]

    client.force_login(member.user)
    page = client.get(reverse("bulk:detail", args=[bulk.pk])).content.decode()
    assert f"The worker running this stopped at {stopped_at:,} of {CONTACTS:,};" in page
