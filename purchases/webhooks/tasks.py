"""The webhook sweep for the workers: new events into deliveries, then what is due sent.

It runs on its cron line in `settings.PERIODIC_TASKS` rather than from each change: one
sweep sees every write path (single changes, bulk chunks' INSERT ... SELECT, billing
runs) once they have committed, and none that rolled back.
"""

from django_tasks import task

from purchases.webhooks import services


@task()
def send_webhooks_task() -> str:
    created = services.deliveries_create()
    tried = services.deliveries_send()
    return f"{created} new, {tried} sent"
