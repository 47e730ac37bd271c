"""The tasks the worker runs for bulk actions: a run, and the recovery of stopped runs."""

from django.template.defaultfilters import pluralize
from django_tasks import task

from contacts.bulk.recovery import resume_stalled_bulk_actions
from contacts.bulk.runner import run_bulk_action


@task()
def run_bulk_action_task(bulk_action_id: int) -> dict:
    bulk = run_bulk_action(bulk_action_id)
    return {"status": bulk.status, "changed": bulk.changed, "skipped": bulk.skipped}


@task()
def resume_stalled_bulk_actions_task() -> str:
    resumed = resume_stalled_bulk_actions()
    return f"{len(resumed)} stopped bulk action{pluralize(len(resumed))} queued again"
