"""The only code that changes access.

Every service here takes keyword-only arguments and an explicit Actor, runs in one
transaction, locks the rows it changes in primary-key order, writes one AccessEvent
per real change in that same transaction, and is idempotent: a second identical call
changes nothing, writes nothing and says so. None of them sends the customer anything.

The set-based functions (`grant_offer_to_contacts`, `revoke_grants`, `restore_grants`)
run a fixed number of statements whatever the number of rows, so a bulk action's chunk
costs the same whether it holds one contact or five hundred; the single-row services
are those same functions applied to one row.

Each keeps the access facts of the contacts it changed (`refresh_access_facts`) as its
last step, in its transaction. Locks are taken contacts first, then grants, then
Products' accesses, so that two services on one contact wait for each other, never in a
circle. An Offer comes before its contacts: granting it holds it FOR SHARE
(`hold_offer`), so grants of one Offer run side by side while adding or taking out a
Product (FOR NO KEY UPDATE) waits for them and they for it. Contacts (and Offers) are
locked FOR NO KEY UPDATE: a row that merely points at
them (a grant, a completion, an audit row) takes a KEY SHARE lock as it is written, which
FOR UPDATE would block, and a lock waiting behind it would close the circle.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import Actor, ActorKind
from kajaccess.outcomes import Outcome
from products.models import ACCESS_DAYS_MAX, Offer, Product
from purchases.access.events import _event, _insert_grant_events, _insert_grant_events_by_details
from purchases.access.facts import refresh_access_facts
from purchases.access.states import has_ended
from purchases.models import (
    AccessEvent,
    AccessStatus,
    BulkAction,
    Grant,
    ProductAccess,
    Purchase,
    RevokedVia,
    Subscription,
)
from purchases.signals import offer_granted

REASON_MAX_LENGTH = 500


REVOKED_VIA_BY_ACTOR = {
    ActorKind.CREATOR: RevokedVia.CREATOR,
    ActorKind.SUPPORT: RevokedVia.SUPPORT,
    ActorKind.AUTOMATION: RevokedVia.AUTOMATION,
    ActorKind.EXPIRY: RevokedVia.EXPIRY,
    ActorKind.CANCELLATION: RevokedVia.CANCELLATION,
    ActorKind.SYSTEM: RevokedVia.CREATOR,
}


def check_reason(reason: str) -> str:
    # A browser sends a line break as CR LF and counts it as one, as the form does.
    reason = (reason or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            f"The reason can be at most {REASON_MAX_LENGTH} characters (it has {len(reason)})."
        )
    return reason


def _revoked_via(actor: Actor) -> str:
    try:
        return REVOKED_VIA_BY_ACTOR[actor.kind]
    except KeyError:
        raise ValidationError(f"A {actor.kind} cannot revoke access.") from None


def _expiry(offer: Offer, starts_at: datetime) -> datetime | None:
    if not offer.access_days:
        return None
    # An Offer saved before access days were bounded may hold more than a date can.
    if offer.access_days > ACCESS_DAYS_MAX:
        raise ValidationError(
            f"“{offer.title}” gives access for {offer.access_days} days, more than the "
            f"{ACCESS_DAYS_MAX} an offer can: edit the offer first."
        )
    return starts_at + timedelta(days=offer.access_days)


def hold_offer(offer: Offer) -> datetime | None:
    """Hold the Offer FOR SHARE until the transaction ends, before any contact lock; when
    it was deleted, as it is now.

    Its Products stay as they are while grants of it are made, so a Product added
    meanwhile is never missing from a new grant, and a deletion since the form was shown
    is seen.
    """
    if connection.vendor != "postgresql":  # SQLite writes one at a time: a read is current
        rows = list(Offer.objects.filter(pk=offer.pk).values_list("deleted_at"))
    else:
        # Django's select_for_update has no FOR SHARE.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT deleted_at FROM {Offer._meta.db_table} WHERE id = %s FOR SHARE",
                [offer.pk],
            )
            rows = cursor.fetchall()
    if not rows:
        raise ValidationError(f"“{offer.title}” is no longer here.")
    return rows[0][0]


def grant_offer_to_contacts(
    *,
    offer: Offer,
    contact_ids: Iterable[int],
    actor: Actor,
    source: str = Grant.Source.MANUAL,
    starts_at: datetime | None = None,
    reason: str = "",
    bulk_action: BulkAction | None = None,
    now: datetime | None = None,
) -> list[Grant]:
    """Grant an Offer to many contacts of its site; returns the grants it created.

    Contacts that already hold an active grant of the Offer, or that belong to another
    site, are left as they are. Runs a fixed number of statements. A `now` in the past
    records history: a deleted Offer can be granted only at a `now` before its deletion.
    """
    reason = check_reason(reason)
    if source not in Grant.Source.values:
        raise ValidationError(f"Unknown grant source “{source}”.")
    now = now or timezone.now()
    starts_at = starts_at or now
    with transaction.atomic():
        deleted_at = hold_offer(offer)
        if deleted_at is not None and deleted_at <= now:
            raise ValidationError(f"“{offer.title}” was deleted and can no longer be granted.")
        to_grant = _lock_contacts_without(offer, contact_ids)
        if not to_grant:
            return []
        grants = _create_grants(
            offer, to_grant, actor=actor, source=source, starts_at=starts_at, now=now
        )
        granted_ids = [grant.pk for grant in grants]
        # Every grant of the call starts and ends together, so their audit rows differ
        # only in the grant: one INSERT ... SELECT writes them all.
        expires_at = grants[0].expires_at
        _insert_grant_events(
            granted_ids,
            AccessEvent.Kind.GRANTED,
            actor=actor,
            reason=reason,
            bulk_action=bulk_action,
            at=now,
            details={
                "offer": offer.title,
                "source": source,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
        refresh_access_facts(contact_ids=to_grant, now=now)
        transaction.on_commit(
            lambda: offer_granted.send(
                sender=Grant, offer=offer, grant_ids=granted_ids, actor=actor
            )
        )
    return grants


def _lock_contacts_without(offer: Offer, contact_ids: Iterable[int]) -> list[int]:
    """Lock these contacts of the Offer's site; the ids of those not holding it now.

    Locking the contacts serialises grants of the same contact: two clicks on
    `Grant offer` can never create two active grants.
    """
    locked = list(
        Contact.objects.select_for_update(no_key=True)
        .filter(pk__any=contact_ids, site_id=offer.site_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    holding = set(
        Grant.objects.filter(
            offer=offer, contact_id__any=locked, status=AccessStatus.ACTIVE
        ).values_list("contact_id", flat=True)
    )
    return [pk for pk in locked if pk not in holding]


def _create_grants(
    offer: Offer, contact_ids: list[int], *, actor: Actor, source: str, starts_at, now
) -> list[Grant]:
    """The grants, a ProductAccess for each Product of the Offer, and what a purchase bills."""
    grants = Grant.objects.bulk_create(
        [
            Grant(
                site_id=offer.site_id,
                contact_id=contact_id,
                offer=offer,
                source=source,
                granted_by=actor.user,
                starts_at=starts_at,
                expires_at=_expiry(offer, starts_at),
                created_at=now,
            )
            for contact_id in contact_ids
        ]
    )
    product_ids = list(offer.products.order_by("pk").values_list("pk", flat=True))
    ProductAccess.objects.bulk_create(
        [ProductAccess(grant=grant, product_id=pid) for grant in grants for pid in product_ids]
    )
    if source == Grant.Source.PURCHASE:
        _create_billing(offer, grants, starts_at)
    return grants


def _create_billing(offer: Offer, grants: list[Grant], starts_at: datetime) -> None:
    if offer.payment_type == Offer.PaymentType.ONE_TIME:
        Purchase.objects.bulk_create(
            [
                Purchase(
                    grant=g, amount=offer.price, currency=offer.currency, purchased_at=starts_at
                )
                for g in grants
            ]
        )
    elif offer.bills_repeatedly:
        plan = offer.payment_type == Offer.PaymentType.PAYMENT_PLAN
        Subscription.objects.bulk_create(
            [
                Subscription(
                    grant=g,
                    interval=offer.interval,
                    amount=offer.price,
                    currency=offer.currency,
                    next_billing_at=starts_at,
                    installments_total=(offer.installments or 1) if plan else None,
                    created_at=starts_at,
                )
                for g in grants
            ]
        )


def grant_offer(
    *,
    contact: Contact,
    offer: Offer,
    actor: Actor,
    source: str = Grant.Source.MANUAL,
    starts_at: datetime | None = None,
    reason: str = "",
    bulk_action: BulkAction | None = None,
) -> Outcome:
    """Give a contact access to every Product of an Offer.

    An existing active grant of the same Offer is returned unchanged.
    """
    if contact.site_id != offer.site_id:
        raise ValidationError("That offer belongs to another site.")
    with transaction.atomic():
        while True:
            created = grant_offer_to_contacts(
                offer=offer,
                contact_ids=[contact.pk],
                actor=actor,
                source=source,
                starts_at=starts_at,
                reason=reason,
                bulk_action=bulk_action,
            )
            if created:
                return Outcome(created[0], True, f"{contact.display_name} now has “{offer.title}”.")
            # The contact is locked now, so no grant can appear; a revoke that slipped in
            # between means there is no active grant any more, and the next pass grants.
            existing = Grant.objects.filter(
                contact=contact, offer=offer, status=AccessStatus.ACTIVE
            ).first()
            if existing is not None:
                return Outcome(
                    existing, False, f"{contact.display_name} already has “{offer.title}”."
                )
            if not Contact.objects.filter(pk=contact.pk, site_id=offer.site_id).exists():
                # Moved to another site (or gone) since it was read: nothing to grant.
                raise ValidationError(f"{contact.display_name} is no longer a contact here.")


def revoke_grants(
    *,
    grant_ids: Iterable[int],
    actor: Actor,
    reason: str = "",
    bulk_action: BulkAction | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Revoke many grants; returns the ids it revoked. Already revoked ones are left alone.

    Billing is never touched: a subscription keeps billing until it is cancelled.
    """
    reason = check_reason(reason)
    via = _revoked_via(actor)
    grant_ids = list(grant_ids)
    with transaction.atomic():
        _lock_contacts_of(grant_ids)
        rows = list(
            Grant.objects.select_for_update()
            .filter(pk__any=grant_ids, status=AccessStatus.ACTIVE)
            .order_by("pk")
            .values_list("pk", "site_id", "contact_id")
        )
        if not rows:
            return []
        now = now or timezone.now()  # taken once the locks are held: events in true order
        ids = [row[0] for row in rows]
        Grant.objects.filter(pk__any=ids).update(
            status=AccessStatus.REVOKED,
            revoked_at=now,
            revoked_by=actor.user,
            revoked_by_key=actor.api_key,
            revoked_via=via,
            revoke_reason=reason,
        )
        _insert_grant_events(
            ids,
            AccessEvent.Kind.REVOKED,
            actor=actor,
            reason=reason,
            bulk_action=bulk_action,
            at=now,
            details={"status": ["active", "revoked"], "revoked_via": via},
        )
        refresh_access_facts(contact_ids={row[2] for row in rows}, now=now)
    return ids


def revoke_grant(
    *, grant: Grant, actor: Actor, reason: str = "", bulk_action: BulkAction | None = None
) -> Outcome:
    """Take away a contact's access to a whole Offer, keeping every record and their progress."""
    revoked = revoke_grants(
        grant_ids=[grant.pk], actor=actor, reason=reason, bulk_action=bulk_action
    )
    grant.refresh_from_db()
    name, title = grant.contact.display_name, grant.offer.title
    if revoked:
        return Outcome(grant, True, f"Access to “{title}” revoked for {name}.")
    return Outcome(grant, False, f"Access to “{title}” was already revoked for {name}.")


# What restoring reads of each grant, as plain rows: a chunk of an Undo builds no model
# instances, which cost it more than its statements.
RESTORE_READS = (
    "pk",
    "site_id",
    "contact_id",
    "offer_id",
    "status",
    "expires_at",
    "revoked_via",
    "offer__access_days",
)


def restore_grants(
    *,
    grant_ids: Iterable[int],
    actor: Actor,
    reason: str = "",
    bulk_action: BulkAction | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Give back access to many revoked or expired grants; returns the ids it restored.

    Access that ended by expiry starts a fresh period of the Offer's access_days. A grant
    whose contact holds another active grant of the same Offer is left revoked.
    """
    reason = check_reason(reason)
    grant_ids = list(grant_ids)
    with transaction.atomic():
        # Contacts first, as grant_offer_to_contacts locks them: no grant of theirs can
        # appear while we check that restoring leaves them one active grant per Offer.
        _lock_contacts_of(grant_ids)
        now = now or timezone.now()
        candidates = list(
            # Only the grants are locked: the Offer is read, never changed.
            Grant.objects.select_for_update(of=("self",))
            .filter(pk__any=grant_ids)
            .filter(
                Q(status=AccessStatus.REVOKED) | Q(status=AccessStatus.ACTIVE, expires_at__lte=now)
            )
            .order_by("pk")
            .values_list(*RESTORE_READS, named=True)
        )
        if not candidates:
            return []
        chosen = _restorable(candidates)
        plain = _switch_on(chosen, now)
        _insert_grant_events_by_details(
            {
                grant.pk: {
                    "status": [grant.status, "active"],
                    "revoked_via": grant.revoked_via,
                    "fresh_period": grant.pk not in plain,
                }
                for grant in chosen
            },
            AccessEvent.Kind.RESTORED,
            actor=actor,
            reason=reason,
            bulk_action=bulk_action,
            at=now,
        )
        refresh_access_facts(contact_ids={grant.contact_id for grant in chosen}, now=now)
    return [grant.pk for grant in chosen]


def _lock_contacts_of(grant_ids: list[int]) -> None:
    """Lock the contacts of these grants, in primary-key order, before the grants."""
    list(
        Contact.objects.select_for_update(no_key=True)
        .filter(pk__in=Grant.objects.filter(pk__any=grant_ids).values("contact_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _restorable(candidates: list) -> list:
    """The grants that can be given back, leaving each contact one active grant per Offer."""
    revoked = [g for g in candidates if g.status == AccessStatus.REVOKED]
    blocked = set(
        Grant.objects.filter(
            status=AccessStatus.ACTIVE,
            contact_id__any={g.contact_id for g in revoked},
            offer_id__any={g.offer_id for g in revoked},
        ).values_list("contact_id", "offer_id")
    )
    seen = set()
    chosen = []
    for grant in candidates:
        key = (grant.contact_id, grant.offer_id)
        if grant.status == AccessStatus.REVOKED and (key in blocked or key in seen):
            continue
        seen.add(key)
        chosen.append(grant)
    return chosen


def _switch_on(grants: list, now: datetime) -> set[int]:
    """Switch these grants on; access that had ended by expiry starts a fresh period.

    Returns the ids of the grants that kept their period.
    """
    fresh_by_days: dict[int | None, list[int]] = {}
    plain: set[int] = set()
    for grant in grants:
        expired = grant.expires_at is not None and grant.expires_at <= now
        if grant.revoked_via == RevokedVia.EXPIRY or expired:
            fresh_by_days.setdefault(grant.offer__access_days, []).append(grant.pk)
        else:
            plain.add(grant.pk)
    restored = {
        "status": AccessStatus.ACTIVE,
        "revoked_at": None,
        "revoked_by": None,
        "revoked_by_key": None,
        "revoked_via": "",
        "revoke_reason": "",
    }
    if plain:
        Grant.objects.filter(pk__any=plain).update(**restored)
    for days, ids in fresh_by_days.items():
        expires_at = now + timedelta(days=days) if days else None
        Grant.objects.filter(pk__any=ids).update(**restored, expires_at=expires_at)
    return plain


def _locked_access(grant: Grant, product: Product) -> ProductAccess:
    try:
        return ProductAccess.objects.select_for_update().get(
            grant=grant, product=product, removed_at__isnull=True
        )
    except ProductAccess.DoesNotExist:
        raise ValidationError(f"“{product.title}” is not part of “{grant.offer.title}”.") from None


def _switch_product_access(
    *,
    grant: Grant,
    product: Product,
    actor: Actor,
    reason: str,
    revoke: bool,
    now: datetime | None = None,
) -> ProductAccess | None:
    """Revoke or restore one Product of a grant; None when it already was so."""
    reason = check_reason(reason)
    via = _revoked_via(actor) if revoke else ""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_contacts_of([grant.pk])
        access = _locked_access(grant, product)
        old, new = access.status, AccessStatus.REVOKED if revoke else AccessStatus.ACTIVE
        if old == new:
            return None
        old_via = access.revoked_via
        access.status = new
        access.revoked_at = now if revoke else None
        access.revoked_by = actor.user if revoke else None
        access.revoked_by_key = actor.api_key if revoke else None
        access.revoked_via = via
        access.revoke_reason = reason if revoke else ""
        access.save(
            update_fields=[
                "status",
                "revoked_at",
                "revoked_by",
                "revoked_by_key",
                "revoked_via",
                "revoke_reason",
            ]
        )
        _event(
            AccessEvent.Kind.PRODUCT_REVOKED if revoke else AccessEvent.Kind.PRODUCT_RESTORED,
            site_id=grant.site_id,
            contact_id=grant.contact_id,
            grant_id=grant.pk,
            product_id=product.pk,
            actor=actor,
            reason=reason,
            at=now,
            details={"status": [old, new], "revoked_via": via or old_via},
        ).save()
        refresh_access_facts(contact_ids=[grant.contact_id], now=now)
    return access


def revoke_product(
    *,
    grant: Grant,
    product: Product,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Take away one Product of a grant; the rest of the Offer stays open.

    `now` dates the revoke and its event, for history written after the fact; it defaults
    to the present.
    """
    name = grant.contact.display_name
    access = _switch_product_access(
        grant=grant, product=product, actor=actor, reason=reason, revoke=True, now=now
    )
    if access is None:
        access = ProductAccess.objects.get(grant=grant, product=product)
        return Outcome(access, False, f"“{product.title}” was already revoked for {name}.")
    return Outcome(access, True, f"Access to “{product.title}” revoked for {name}.")


def restore_access(
    *, grant: Grant, actor: Actor, product: Product | None = None, reason: str = ""
) -> Outcome:
    """Give back a revoked grant, or one revoked Product of it. Progress was never touched."""
    name = grant.contact.display_name
    if product is None:
        restored = restore_grants(grant_ids=[grant.pk], actor=actor, reason=reason)
        grant.refresh_from_db()
        if restored:
            return Outcome(grant, True, f"Access to “{grant.offer.title}” restored for {name}.")
        if grant.status == AccessStatus.REVOKED:
            raise ValidationError(
                f"{name} already holds “{grant.offer.title}” through another grant."
            )
        return Outcome(grant, False, f"{name} already has access to “{grant.offer.title}”.")
    access = _switch_product_access(
        grant=grant, product=product, actor=actor, reason=reason, revoke=False
    )
    if access is None:
        access = ProductAccess.objects.get(grant=grant, product=product)
        return Outcome(access, False, f"{name} already has access to “{product.title}”.")
    return Outcome(access, True, f"Access to “{product.title}” restored for {name}.")


def expire_grants(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Record the end of every grant whose access period is over; returns how many."""
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            Grant.objects.filter(status=AccessStatus.ACTIVE, expires_at__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        total += len(revoke_grants(grant_ids=ids, actor=Actor.expiry(), now=now))


# --- Access dates --------------------------------------------------------------------------

# Before this no grant was ever made: an earlier date is a typing slip.
EARLIEST_ACCESS_DATE = datetime(2000, 1, 1, tzinfo=UTC)
DATES_CHANGED_SINCE = (
    "These access dates changed since you opened them (someone else changed the grant, "
    "or it was revoked). Nothing was changed: check the dates shown now and try again."
)


class StaleAccessDates(ValidationError):
    """The grant is no longer as the creator saw it when they chose its dates."""


class AccessEnded(StaleAccessDates):
    """The grant's access period is over (swept or not): Restore access gives it back."""

    def __init__(self, grant: Grant):
        when = f" on {timezone.localtime(grant.expires_at):%b %-d, %Y}" if grant.expires_at else ""
        super().__init__(
            f"Access to “{grant.offer.title}” for {grant.contact.display_name} ended{when}. "
            "Nothing was changed: restore access to give it back, then change its dates.",
            code="ended",
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def check_access_dates(
    *, starts_at: datetime, expires_at: datetime | None, now: datetime, check_start: bool = True
) -> None:
    """Refuse an end before the start and dates no creator means (before 2000, or further
    out than an Offer's longest access period)."""
    latest = now + timedelta(days=ACCESS_DAYS_MAX)
    if check_start and not EARLIEST_ACCESS_DATE <= starts_at <= latest:
        raise ValidationError(
            f"The start date must lie between {EARLIEST_ACCESS_DATE:%b %-d, %Y} and "
            f"{latest:%b %-d, %Y}."
        )
    if expires_at is None:
        return
    if not EARLIEST_ACCESS_DATE <= expires_at <= latest:
        raise ValidationError(
            f"The end date must lie between {EARLIEST_ACCESS_DATE:%b %-d, %Y} and "
            f"{latest:%b %-d, %Y} ({ACCESS_DAYS_MAX} days from today)."
        )
    if expires_at <= starts_at:
        raise ValidationError("The end date must come after the start date.")


def _dates_event(grant: Grant, old: tuple, *, actor, reason, bulk_action, at) -> AccessEvent:
    details = {}
    for key, before in zip(("starts_at", "expires_at"), old, strict=True):
        after = getattr(grant, key)
        if before != after:
            details[key] = [_iso(before), _iso(after)]
    return _event(
        AccessEvent.Kind.ACCESS_DATES_CHANGED,
        site_id=grant.site_id,
        contact_id=grant.contact_id,
        grant_id=grant.pk,
        actor=actor,
        reason=reason,
        bulk_action=bulk_action,
        at=at,
        details=details,
    )


def set_access_dates(
    *,
    grant: Grant,
    starts_at: datetime,
    expires_at: datetime | None,
    actor: Actor,
    shown: tuple[datetime, datetime | None] | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Set when a grant's access starts and ends (`expires_at` None: it never ends).

    Access ends at `expires_at` itself: every check of access compares with it, so the
    Library refuses the content from that instant, whatever the expiry sweep has done.
    A grant whose end has passed is over whether or not the sweep has recorded it:
    AccessEnded is raised either way, and only Restore access (which records it) gives
    it back. `shown` is the (start, end) the creator saw; if the grant holds other dates
    now, or was revoked meanwhile, StaleAccessDates is raised and nothing changes.
    Billing is never touched.
    """
    reason = check_reason(reason)
    with transaction.atomic():
        _lock_contacts_of([grant.pk])
        locked = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("contact", "offer")
            .get(pk=grant.pk)
        )
        now = now or timezone.now()
        old = (locked.starts_at, locked.expires_at)
        if has_ended(locked, now):
            raise AccessEnded(locked)
        if locked.status != AccessStatus.ACTIVE or (shown is not None and tuple(shown) != old):
            raise StaleAccessDates(DATES_CHANGED_SINCE)
        check_access_dates(
            starts_at=starts_at,
            expires_at=expires_at,
            now=now,
            check_start=starts_at != locked.starts_at,
        )
        name, title = locked.contact.display_name, locked.offer.title
        if old == (starts_at, expires_at):
            return Outcome(
                locked, False, f"The access dates of “{title}” for {name} stay as they were."
            )
        locked.starts_at, locked.expires_at = starts_at, expires_at
        locked.save(update_fields=["starts_at", "expires_at"])
        _dates_event(locked, old, actor=actor, reason=reason, bulk_action=None, at=now).save()
        refresh_access_facts(contact_ids=[locked.contact_id], now=now)
    return Outcome(locked, True, f"Access dates of “{title}” changed for {name}.")


def set_end_dates(
    *,
    ends: dict[int, datetime | None],
    actor: Actor,
    reason: str = "",
    bulk_action: BulkAction | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Give each of these grants its end (None: no end); returns the ids it changed.

    Revoked grants, those whose end has passed (swept or not: only Restore access gives
    them back), those that already end then, and those the end would precede the start
    of are left as they are. Billing is never touched.
    """
    reason = check_reason(reason)
    with transaction.atomic():
        _lock_contacts_of(list(ends))
        grants = list(
            Grant.objects.select_for_update()
            .filter(pk__any=ends, status=AccessStatus.ACTIVE)
            .order_by("pk")
        )
        now = now or timezone.now()
        changed = []
        for grant in grants:
            end = ends[grant.pk]
            if grant.has_expired(now):
                continue
            if grant.expires_at == end or (end is not None and end <= grant.starts_at):
                continue
            old = (grant.starts_at, grant.expires_at)
            grant.expires_at = end
            changed.append((grant, old))
        Grant.objects.bulk_update([grant for grant, _ in changed], ["expires_at"])
        AccessEvent.objects.bulk_create(
            [
                _dates_event(
                    grant, old, actor=actor, reason=reason, bulk_action=bulk_action, at=now
                )
                for grant, old in changed
            ]
        )
        refresh_access_facts(contact_ids={grant.contact_id for grant, _ in changed}, now=now)
    return [grant.pk for grant, _ in changed]
