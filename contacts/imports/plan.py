"""What an import does to each row, read the same way for its preview and for its run, so that
what the preview counts is what the run does."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from contacts.imports.rows import reason
from contacts.models import Contact, ContactImport, ContactTag, ImportRow
from products.models import Offer
from purchases.models import AccessStatus, Grant

NOTHING_TO_CHANGE = "nothing to change"
PREVIEW_CHUNK = 1000


@dataclass
class Choices:
    """What the creator chose to do with every row of the file."""

    offer: Offer | None = None
    send_email: bool = False
    tag: str = ""
    update_existing: bool = False


def choices_from(site, options: dict) -> Choices:
    """The choices an import was checked or started with, its Offer read as it is now.

    Raises ValidationError once the Offer is deleted: nothing is granted from it any more.
    """
    offer = None
    if options.get("offer"):
        offer = Offer.objects.filter(site=site, pk=options["offer"]).first()
        if offer is None or offer.is_deleted:
            raise ValidationError(
                "The offer chosen for this import was deleted. Choose another, check the "
                "file again, then confirm. Nothing was imported.",
                code="deleted",
            )
    return Choices(
        offer=offer,
        send_email=options.get("send_email", False),
        tag=options.get("tag", ""),
        update_existing=options.get("update_existing", False),
    )


@dataclass
class RowPlan:
    row: ImportRow
    contact_id: int | None = None
    create: bool = False
    rename: tuple[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    grant: bool = False
    holds_offer: bool = False

    @property
    def updates(self) -> bool:
        return not self.create and self.contact_id is not None and bool(self.rename or self.tags)

    @property
    def changes(self) -> bool:
        return self.create or self.updates or self.grant


@dataclass
class Tally:
    """What an import will do, or did, row by row."""

    rows: int = 0
    create: int = 0
    existing: int = 0
    update: int = 0
    grant: int = 0
    has_offer: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def invalid(self) -> int:
        return sum(n for why, n in self.skipped.items() if why != NOTHING_TO_CHANGE)

    @property
    def changes(self) -> int:
        return self.rows - self.skipped.total()

    def add(self, plans: list[RowPlan]) -> None:
        for plan in plans:
            self.rows += 1
            if plan.row.problem:
                self.skipped[reason(plan.row.problem)] += 1
                continue
            self.create += plan.create
            self.existing += plan.contact_id is not None
            self.update += plan.updates
            self.grant += plan.grant
            self.has_offer += plan.holds_offer
            if not plan.changes:
                self.skipped[NOTHING_TO_CHANGE] += 1

    @classmethod
    def from_dict(cls, stored: dict) -> "Tally":
        return cls(**{**stored, "skipped": Counter(stored.get("skipped", {}))})

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """Why rows are skipped, the most common first."""
        return self.skipped.most_common()

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "create": self.create,
            "existing": self.existing,
            "update": self.update,
            "grant": self.grant,
            "has_offer": self.has_offer,
            "skipped": dict(self.skipped),
        }


def plan_rows(site, rows: list[ImportRow], choices: Choices) -> list[RowPlan]:
    """Each row's plan against the site's contacts as they are now, in a fixed few queries."""
    keys = [row.email.lower() for row in rows if not row.problem]
    existing = {
        key: (pk, name)
        for key, pk, name in Contact.objects.filter(site=site)
        .annotate(key=Lower("email"))
        .filter(key__in=keys)
        .values_list("key", "pk", "name")
    }
    ids = [pk for pk, _ in existing.values()]
    tagged = defaultdict(set)
    for contact_id, name in ContactTag.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "tag__name"
    ):
        tagged[contact_id].add(name.lower())
    holders = set()
    if choices.offer is not None:
        holders = set(
            Grant.objects.filter(
                offer=choices.offer, status=AccessStatus.ACTIVE, contact_id__in=ids
            ).values_list("contact_id", flat=True)
        )
    plans = []
    for row in rows:
        plan = RowPlan(row=row)
        plans.append(plan)
        if row.problem:
            continue
        wanted = [choices.tag] if choices.tag else []
        found = existing.get(row.email.lower())
        if found is None:
            plan.create = True
            plan.tags = _distinct(row.tags + wanted)
            plan.grant = choices.offer is not None
            continue
        plan.contact_id, name = found
        if choices.update_existing:
            wanted = row.tags + wanted
            if row.name and row.name != name:
                plan.rename = (name, row.name)
        plan.tags = [t for t in _distinct(wanted) if t.lower() not in tagged[plan.contact_id]]
        plan.holds_offer = plan.contact_id in holders
        plan.grant = choices.offer is not None and not plan.holds_offer
    return plans


def _distinct(names: list[str]) -> list[str]:
    """The names once each, whatever their letter case, in their order."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def preview(contact_import: ContactImport, choices: Choices) -> Tally:
    """What the import would do now, counted over its rows chunk by chunk."""
    tally = Tally()
    after = 0
    while True:
        rows = list(contact_import.rows.filter(number__gt=after).order_by("number")[:PREVIEW_CHUNK])
        if not rows:
            return tally
        after = rows[-1].number
        tally.add(plan_rows(contact_import.site, rows, choices))
