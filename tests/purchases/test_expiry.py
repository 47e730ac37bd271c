"""Offer expiry and the access sweep: `process_access`, its command, the periodic tasks and
their scheduler."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kajaccess.actors import Actor
from kajaccess.scheduler import build_scheduler, periodic_tasks
from products.models import Offer
from purchases.access import selectors, services
from purchases.billing import runs as billing_runs
from purchases.billing import services as billing
from purchases.models import AccessEvent, Grant, Subscription
from purchases.tasks import process_access_task, reconcile_access_facts_task, run_billing_task
from tests.factories import ContactFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def trial(member):
    product = ProductFactory(site=member.site, title="Python Basics", lessons=3)
    return OfferFactory(
        site=member.site,
        title="30-Day Trial",
        products=[product],
        price=Decimal("0"),
        payment_type=Offer.PaymentType.FREE,
        access_days=30,
    )


@pytest.fixture
def vault(member):
    product = ProductFactory(site=member.site, title="The Vault")
    return OfferFactory(
        site=member.site,
        title="Vault Membership",
        products=[product],
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
    )


def grant(offer, creator, starts_at=T0) -> Grant:
    contact = ContactFactory(site=offer.site, name="Alan Turing")
    return services.grant_offer(
        contact=contact, offer=offer, actor=creator, starts_at=starts_at
    ).obj


def subscribe(offer) -> Subscription:
    contact = ContactFactory(site=offer.site, name="Grace Hopper")
    grant = services.grant_offer(
        contact=contact,
        offer=offer,
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=T0,
    ).obj
    billing_runs.run_billing(now=T0)
    return Subscription.objects.select_related("grant__contact", "grant__offer").get(grant=grant)


def purchases_tab_state(contact, now):
    return selectors.access_status(selectors.contact_grants(contact).get(), now=now)


# --- Expiry ---------------------------------------------------------------------------


def test_access_days_set_the_end_of_access_of_new_grants(trial, creator):
    g = grant(trial, creator)
    assert g.expires_at == at(30)
    trial.access_days = 90
    trial.save()
    g.refresh_from_db()
    assert g.expires_at == at(30)
    assert grant(trial, creator, starts_at=at(1)).expires_at == at(91)


def test_expired_access_is_refused_before_the_sweep(trial, creator):
    g = grant(trial, creator)
    product = trial.products.get()
    assert selectors.has_access(g.contact, product, now=at(29.9))
    assert purchases_tab_state(g.contact, at(29.9)) is None

    # The sweep has not run: the grant is still recorded as active, yet access is over.
    assert Grant.objects.get(pk=g.pk).status == "active"
    assert not selectors.has_access(g.contact, product, now=at(30))
    assert list(selectors.library_products(g.contact, now=at(30))) == []
    state = purchases_tab_state(g.contact, at(30))
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")


def test_process_access_records_expiry(trial, creator):
    g = grant(trial, creator)
    assert billing_runs.process_access(now=at(29)).expired == 0
    sweep = billing_runs.process_access(now=at(31))
    assert sweep.expired == 1
    g.refresh_from_db()
    assert (g.status, g.revoked_via, g.revoked_at) == ("revoked", "expiry", at(31))
    state = purchases_tab_state(g.contact, at(31))
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED)
    assert (event.actor_kind, event.grant_id) == ("expiry", g.pk)
    assert billing_runs.process_access(now=at(32)).expired == 0
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 1


# --- Cancellations and pauses coming due -----------------------------------------------


def test_cancel_at_period_end_through_process_access(vault, creator):
    sub = subscribe(vault)
    billing.cancel_subscription(subscription=sub, actor=creator, when="period_end", now=at(3))

    assert billing_runs.process_access(now=at(30.9)).canceled == 0
    sub.refresh_from_db()
    assert sub.display_status == "Cancellation pending"
    assert purchases_tab_state(sub.grant.contact, at(30.9)) is None

    sweep = billing_runs.process_access(now=at(31))
    assert sweep.canceled == 1
    sub.refresh_from_db()
    assert (sub.status, sub.canceled_at) == ("canceled", at(31))
    state = purchases_tab_state(sub.grant.contact, at(31))
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")
    canceled = AccessEvent.objects.get(kind=AccessEvent.Kind.SUBSCRIPTION_CANCELED)
    assert canceled.actor_kind == "cancellation"
    assert billing_runs.run_billing(now=at(31)).charged == 0
    assert billing_runs.process_access(now=at(40)).canceled == 0


def test_cancel_on_a_date_through_process_access(vault, creator):
    sub = subscribe(vault)
    billing.cancel_subscription(
        subscription=sub, actor=creator, when="date", on=at(12).date(), now=at(3)
    )
    assert billing_runs.process_access(now=at(11)).canceled == 0
    # The date starts at midnight: the first sweep of that day ends it.
    assert billing_runs.process_access(now=billing.start_of(at(12).date())).canceled == 1
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert sub.grant.status == "revoked"
    assert not selectors.has_access(sub.grant.contact, vault.products.get(), now=at(13))


def test_a_paused_subscription_set_to_cancel_ends_on_its_date(vault, creator):
    sub = subscribe(vault)
    billing.cancel_subscription(subscription=sub, actor=creator, now=at(3))
    billing.pause_subscription(subscription=sub, actor=creator, now=at(4))
    assert billing_runs.process_access(now=at(31)).canceled == 1
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_a_pause_with_a_date_resumes_by_itself(vault, creator):
    sub = subscribe(vault)
    billing.pause_subscription(subscription=sub, actor=creator, until=at(20).date(), now=at(3))
    assert billing_runs.process_access(now=at(19)).resumed == 0
    assert billing_runs.process_access(now=at(20)).resumed == 1
    sub.refresh_from_db()
    assert (sub.status, sub.paused_until) == ("active", None)


# --- Commands ---------------------------------------------------------------------------


def test_process_access_command_with_a_controllable_clock(vault, trial, creator, capsys):
    sub = subscribe(vault)
    g = grant(trial, creator)
    billing.cancel_subscription(subscription=sub, actor=creator, now=at(3))
    call_command("process_access", now=at(10).isoformat())
    assert "0 grants expired, 0 subscriptions ended" in capsys.readouterr().out
    call_command("process_access", now="2026-04-02T09:00")
    assert "1 grants expired, 1 subscriptions ended, 0 resumed" in capsys.readouterr().out
    g.refresh_from_db()
    sub.refresh_from_db()
    assert (g.revoked_via, sub.status) == ("expiry", "canceled")


def test_run_billing_command(vault, capsys):
    sub = subscribe(vault)
    call_command("run_billing", now="2026-04-02")
    assert "0 charged" in capsys.readouterr().out
    call_command("run_billing", now="2026-04-02T09:00:00+00:00")
    assert "1 charged, 0 failed" in capsys.readouterr().out
    call_command("run_billing", now="2026-04-02T10:00:00+00:00")
    assert "0 charged, 0 failed" in capsys.readouterr().out
    assert sub.payments.count() == 2


@pytest.mark.parametrize("command", ["run_billing", "process_access"])
def test_commands_refuse_a_bad_clock(command):
    with pytest.raises(CommandError, match="--now must be an ISO date"):
        call_command(command, now="next tuesday")
    with pytest.raises(CommandError, match="--now must be an ISO date"):
        call_command(command, now="2026-02-30T09:00")


# --- Periodic tasks and their scheduler -------------------------------------------------


def test_the_periodic_tasks_do_their_work(vault, trial, creator):
    grant(trial, creator, starts_at=datetime.now(UTC) - timedelta(days=40))
    assert "1 grants expired" in process_access_task.enqueue().return_value
    assert "charged" in run_billing_task.enqueue().return_value


def test_the_schedule_names_each_task_with_its_cron_line(capsys):
    call_command("run_scheduler", "--list")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  (next run ")[0] for line in lines] == [
        "run_billing_task: */10 * * * *",
        "process_access_task: */10 * * * *",
        "resume_stalled_bulk_actions_task: */20 * * * * *",
        "reconcile_access_facts_task: 15 4 * * *",
        "forget_imports_task: 30 3 * * *",
        "send_webhooks_task: */5 * * * * *",
    ]


def test_each_cron_line_says_when_its_task_runs_next():
    next_runs = {p.task.name: p.next_run(now=at(0.002)) for p in periodic_tasks()}  # 09:02:52
    assert next_runs == {
        "run_billing_task": datetime(2026, 3, 2, 9, 10, tzinfo=UTC),
        "process_access_task": datetime(2026, 3, 2, 9, 10, tzinfo=UTC),
        "resume_stalled_bulk_actions_task": datetime(2026, 3, 2, 9, 3, 0, tzinfo=UTC),
        "reconcile_access_facts_task": datetime(2026, 3, 3, 4, 15, tzinfo=UTC),
        "forget_imports_task": datetime(2026, 3, 3, 3, 30, tzinfo=UTC),
        "send_webhooks_task": datetime(2026, 3, 2, 9, 2, 55, tzinfo=UTC),
    }


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_the_scheduler_queues_each_task_once_and_a_worker_runs_it(trial, creator):
    g = grant(trial, creator, starts_at=datetime.now(UTC) - timedelta(days=31))
    said = []
    jobs = build_scheduler(periodic_tasks(), report=said.append).get_jobs()
    for job in jobs * 2:  # every worker busy: the second time, each run still waits
        job.func(*job.args)
    names = ["run_billing_task", "process_access_task", "resume_stalled_bulk_actions_task"]
    names += ["reconcile_access_facts_task", "forget_imports_task", "send_webhooks_task"]
    assert said == [f"Queued {name}." for name in names] + [
        f"{name} not queued: its last run still waits for a worker." for name in names
    ]
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == len(names)

    call_command("db_worker", batch=True, interval=0, startup_delay=False, reload=False)
    g.refresh_from_db()
    assert (g.status, g.revoked_via) == ("revoked", "expiry")
    done = {r.task_path: r.return_value for r in DBTaskResult.objects.all()}
    assert done.keys() == {job.args[0].task.module_path for job in jobs}
    assert "1 grants expired" in done[process_access_task.module_path]
    assert done[reconcile_access_facts_task.module_path] == "0 differences"
    assert DBTaskResult.objects.exclude(status=TaskResultStatus.SUCCESSFUL).count() == 0


@pytest.mark.parametrize(
    "line, problem",
    [
        ("every ten minutes", "it has 3 fields, not 5 (or 6 with the seconds first)"),
        ("0 9 * * 1", "write the weekday as a word (Mon, Tue, ... Sun), not a number"),
        ("61 * * * *", "the last value (61) is higher than the maximum value (59)"),
    ],
)
def test_the_scheduler_refuses_a_schedule_that_is_not_a_cron_line(settings, line, problem):
    settings.PERIODIC_TASKS = {"purchases.tasks.run_billing_task": line}
    message = f"PERIODIC_TASKS: the schedule of run_billing_task, “{line}”, is not a cron line: "
    with pytest.raises(CommandError) as refused:
        call_command("run_scheduler", "--list")
    assert str(refused.value).startswith(message)
    assert problem in str(refused.value)


def test_the_scheduler_refuses_a_task_that_does_not_exist(settings):
    settings.PERIODIC_TASKS = {"purchases.tasks.run_payroll_task": "*/10 * * * *"}
    with pytest.raises(CommandError, match="PERIODIC_TASKS: no task purchases.tasks.run_payroll"):
        call_command("run_scheduler", "--list")
