"""The billing run and the access sweep, as tasks for the workers.

The scheduler (`manage.py run_scheduler`) queues each of them on its cron line in
`settings.PERIODIC_TASKS`; a run that dies with its worker is simply followed by the
next one, since each run does whatever is due by then.
"""

import logging

from django_tasks import task

from purchases.access import facts
from purchases.billing import runs as billing

logger = logging.getLogger(__name__)


@task()
def run_billing_task() -> str:
    return str(billing.run_billing())


@task()
def process_access_task() -> str:
    return str(billing.process_access())


@task()
def reconcile_access_facts_task() -> str:
    """Once a day: the facts held against their recomputation; any difference is a defect."""
    differences = facts.reconcile_access_facts(fix=True)
    for line in differences:
        logger.error("Access facts differed and were repaired: %s", line)
    return f"{len(differences)} differences"
