"""An import as a bulk action: it runs, in chunks of rows, through the same engine as every
bulk action, and its Undo revokes the grants it gave."""

from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower

from contacts import services as contact_services
from contacts.bulk.actions import BulkActionType, Chunk, Preview, action_for, registry
from contacts.bulk.undo import UndoGrantAction
from contacts.imports.plan import (
    NOTHING_TO_CHANGE,
    Choices,
    RowPlan,
    choices_from,
    plan_rows,
    preview,
)
from contacts.imports.rows import reason
from contacts.models import Contact, ContactImport, ImportRow
from purchases.access import services as access_services
from purchases.access.emails import GrantEmail
from purchases.models import AccessEvent, Grant

ADDED_MEANWHILE = "added and deleted meanwhile by someone else"


@registry.register
class ImportContactsAction(BulkActionType):
    """`Import`: every row of a checked file, as the creator confirmed its preview."""

    name = "import_contacts"
    label = "Import"
    permission = "kajaccess.edit_contacts"
    in_menu = False
    undo_action = "undo_import_contacts"
    unit = "row"

    @property
    def contact_import(self) -> ContactImport:
        if not hasattr(self, "_import"):
            self._import = ContactImport.objects.defer("file").get(
                site=self.site, pk=self.params["import"]
            )
        return self._import

    @property
    def choices(self) -> Choices:
        return choices_from(self.site, self.params)

    def describe(self) -> str:
        return f"{self.label} {self.params['file_name']}"

    @property
    def can_undo(self) -> bool:
        # Only the grants it gave can be taken back: an import that gave none has no Undo.
        return super().can_undo and self.bulk.outcome.get("counted", {}).get("granted", 0) > 0

    def count(self, contacts):
        """What the run would do to the file's rows now: an import acts on rows, not on a
        selection of contacts."""
        tally = preview(self.contact_import, self.choices)
        return Preview(selected=tally.rows, will_change=tally.changes, skipped=tally.skipped)

    def next_chunk(self, after: int, size: int) -> Chunk | None:
        rows = list(
            ImportRow.objects.filter(contact_import_id=self.params["import"], number__gt=after)
            .order_by("number")
            .values_list("pk", "number")[:size]
        )
        if not rows:
            return None
        return Chunk(ids=[pk for pk, _ in rows], size=len(rows), last=rows[-1][1])

    def execute(self, contact_ids):
        """Import a chunk of rows (the ids are ImportRows'): the same plan as the preview's."""
        rows = list(ImportRow.objects.filter(pk__in=contact_ids).order_by("number"))
        keys = [row.email.lower() for row in rows if not row.problem]
        choices = self.choices
        if choices.offer is not None:
            access_services.hold_offer(choices.offer)  # an Offer before its contacts
        # Lock the contacts the rows match before reading them, as every service does.
        list(
            Contact.objects.select_for_update(no_key=True)
            .annotate(key=Lower("email"))
            .filter(site=self.site, key__in=keys)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        plans = plan_rows(self.site, rows, choices)
        skipped = Counter()
        for plan in plans:
            if plan.row.problem:
                skipped[reason(plan.row.problem)] += 1
            elif not plan.changes:
                skipped[NOTHING_TO_CHANGE] += 1
        self._create(plans, skipped)
        self._rename(plans)
        self._tag(plans)
        granted = self._grant(plans, choices)
        done = [plan for plan in plans if plan.contact_id is not None and plan.changes]
        self.counted = Counter(
            added=sum(plan.create for plan in done),
            updated=sum(plan.updates for plan in done),
            granted=granted,
        )
        return len(done), skipped

    def _create(self, plans: list[RowPlan], skipped: Counter) -> None:
        new = [plan for plan in plans if plan.create]
        if not new:
            return
        added = contact_services.contacts_create(
            site=self.site,
            people=[(plan.row.email, plan.row.name) for plan in new],
            actor=self.actor,
            bulk_action=self.bulk,
        )
        lost = [plan for plan in new if plan.row.email.lower() not in added]
        # Added by someone else meanwhile: the row goes on with that contact, as one
        # already in the list (its offer and tags, if it lacks them; its name as it is).
        found = dict(
            Contact.objects.filter(site=self.site)
            .annotate(key=Lower("email"))
            .filter(key__in=[plan.row.email.lower() for plan in lost])
            .values_list("key", "pk")
        )
        for plan in new:
            key = plan.row.email.lower()
            plan.contact_id = added.get(key) or found.get(key)
            if key not in added:
                plan.create = False
                if plan.contact_id is None:
                    skipped[ADDED_MEANWHILE] += 1
                elif not plan.changes:
                    skipped[NOTHING_TO_CHANGE] += 1

    def _rename(self, plans: list[RowPlan]) -> None:
        names = {plan.contact_id: plan.rename for plan in plans if plan.rename}
        if names:
            contact_services.contacts_rename(
                site=self.site, names=names, actor=self.actor, bulk_action=self.bulk
            )

    def _tag(self, plans: list[RowPlan]) -> None:
        by_tag: dict[str, list[int]] = defaultdict(list)
        names: dict[str, str] = {}
        for plan in plans:
            if plan.contact_id is None:
                continue
            for name in plan.tags:
                by_tag[name.lower()].append(plan.contact_id)
                names.setdefault(name.lower(), name)
        for key, contact_ids in by_tag.items():
            tag = contact_services.tag_get_or_create(site=self.site, name=names[key])
            contact_services.add_tag(
                tag=tag, contact_ids=contact_ids, actor=self.actor, bulk_action=self.bulk
            )

    def _grant(self, plans: list[RowPlan], choices: Choices) -> int:
        ids = [plan.contact_id for plan in plans if plan.grant and plan.contact_id is not None]
        if not ids:
            return 0
        grants = access_services.grant_offer_to_contacts(
            offer=choices.offer,
            contact_ids=ids,
            actor=self.actor,
            source=Grant.Source.IMPORT,
            reason=self.bulk.reason,
            bulk_action=self.bulk,
        )
        if choices.send_email and grants:
            library_url = self.params["library_url"]
            grant_ids = [grant.pk for grant in grants]
            transaction.on_commit(lambda: _send_grant_emails(grant_ids, library_url))
        return len(grants)


def _send_grant_emails(grant_ids: list[int], library_url: str) -> None:
    for grant in Grant.objects.filter(pk__in=grant_ids).select_related("contact", "offer"):
        GrantEmail(grant, library_url).send()


@registry.register
class UndoImportAction(UndoGrantAction):
    name = "undo_import_contacts"
    label = "Undo import"
    explanation = (
        "Revokes the grants that bulk action #{pk} ({what}) gave, and nothing else: a grant "
        "changed since stays as it is. The contacts it added stay, tagged “{tag}”."
    )

    @property
    def undone_tag(self) -> str:
        return f"Import #{self.params['undo_of']} undone"

    def explain(self) -> str:
        what = action_for(self.original).describe()
        return self.explanation.format(pk=self.original.pk, what=what, tag=self.undone_tag)

    def execute(self, contact_ids):
        changed, reasons = super().execute(contact_ids)
        added = AccessEvent.objects.filter(
            contact=OuterRef("pk"),
            bulk_action_id=self.original.pk,
            kind=AccessEvent.Kind.CONTACT_ADDED,
        )
        created = Contact.objects.filter(Exists(added), pk__in=contact_ids).values_list(
            "pk", flat=True
        )
        if created:
            tag = contact_services.tag_get_or_create(site=self.site, name=self.undone_tag)
            contact_services.add_tag(
                tag=tag, contact_ids=list(created), actor=self.actor, bulk_action=self.bulk
            )
        return changed, reasons
