"""The task the worker runs for a bulk action."""

from django_tasks import task

from contacts.bulk.runner import run_bulk_action


@task()
def run_bulk_action_task(bulk_action_id: int) -> dict:
    bulk = run_bulk_action(bulk_action_id)
    return {"status": bulk.status, "changed": bulk.changed, "skipped": bulk.skipped}
