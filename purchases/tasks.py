"""The billing run and the access sweep, as tasks for the workers.

The scheduler (`manage.py run_scheduler`) queues each of them on its cron line in
`settings.PERIODIC_TASKS`; a run that dies with its worker is simply followed by the
next one, since each run does whatever is due by then.
"""

from django_tasks import task

from purchases.billing import runs as billing


@task()
def run_billing_task() -> str:
    return str(billing.run_billing())


@task()
def process_access_task() -> str:
    return str(billing.process_access())
