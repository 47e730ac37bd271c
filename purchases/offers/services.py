"""Offers: creating, editing, deleting and restoring them, and their Products coming and going."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from contacts.models import Contact
from kajaccess.actors import Actor
from kajaccess.outcomes import Outcome
from products.models import Offer, Product
from purchases.access.events import _event
from purchases.access.facts import refresh_access_facts
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Grant,
    ProductAccess,
)


def _customers(count: int) -> str:
    return ngettext("%d customer", "%d customers", count) % count


def _lock_holders(offer: Offer) -> list[int]:
    """Lock the contacts with an active grant of the Offer, before their grants (as every
    access service does); their ids.

    Only these contacts' grants are changed then: one restored meanwhile is left as a
    restore after the change would leave it, and no contact is locked out of order.
    """
    return list(
        Contact.objects.select_for_update(no_key=True)
        .filter(
            pk__in=Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).values(
                "contact_id"
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def add_product_to_offer(*, offer: Offer, product: Product, actor: Actor) -> Outcome:
    """Put a Product in an Offer: every active grant of the Offer gains it, one event each."""
    if product.site_id != offer.site_id:
        raise ValidationError("That product belongs to another site.")
    now = timezone.now()
    with transaction.atomic():
        offer = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
        if offer.products.filter(pk=product.pk).exists():
            return Outcome(offer, False, f"“{product.title}” is already in “{offer.title}”.")
        offer.products.add(product)
        holders = _lock_holders(offer)
        grants = list(
            Grant.objects.select_for_update()
            .filter(offer=offer, status=AccessStatus.ACTIVE, contact_id__in=holders)
            .order_by("pk")
            .values_list("pk", "site_id", "contact_id")
        )
        grant_ids = [pk for pk, _, _ in grants]
        # A grant that had the Product before it was taken out gets that same row back.
        ProductAccess.objects.filter(grant_id__in=grant_ids, product=product).update(
            removed_at=None
        )
        had = set(
            ProductAccess.objects.filter(grant_id__in=grant_ids, product=product).values_list(
                "grant_id", flat=True
            )
        )
        ProductAccess.objects.bulk_create(
            [ProductAccess(grant_id=pk, product=product) for pk in grant_ids if pk not in had]
        )
        AccessEvent.objects.bulk_create(
            [
                _event(
                    AccessEvent.Kind.PRODUCT_ADDED,
                    site_id=site_id,
                    contact_id=contact_id,
                    grant_id=pk,
                    product_id=product.pk,
                    actor=actor,
                    at=now,
                    details={"offer": offer.title, "product": product.title},
                )
                for pk, site_id, contact_id in grants
            ]
        )
        refresh_access_facts(contact_ids={row[2] for row in grants}, now=now)
    return Outcome(
        offer, True, f"“{product.title}” added to “{offer.title}” for {_customers(len(grants))}."
    )


def remove_product_from_offer(*, offer: Offer, product: Product, actor: Actor) -> Outcome:
    """Take a Product out of an Offer: active grants of it lose that Product, one event each."""
    now = timezone.now()
    with transaction.atomic():
        offer = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
        if not offer.products.filter(pk=product.pk).exists():
            return Outcome(offer, False, f"“{product.title}” is not in “{offer.title}”.")
        offer.products.remove(product)
        holders = _lock_holders(offer)
        accesses = list(
            ProductAccess.objects.select_for_update()
            .filter(
                grant__offer=offer,
                grant__status=AccessStatus.ACTIVE,
                grant__contact_id__in=holders,
                product=product,
                removed_at__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", "grant_id", "grant__site_id", "grant__contact_id")
        )
        ProductAccess.objects.filter(pk__in=[row[0] for row in accesses]).update(removed_at=now)
        AccessEvent.objects.bulk_create(
            [
                _event(
                    AccessEvent.Kind.PRODUCT_REMOVED,
                    site_id=site_id,
                    contact_id=contact_id,
                    grant_id=grant_id,
                    product_id=product.pk,
                    actor=actor,
                    at=now,
                    details={"offer": offer.title, "product": product.title},
                )
                for _, grant_id, site_id, contact_id in accesses
            ]
        )
        refresh_access_facts(contact_ids={row[3] for row in accesses}, now=now)
    return Outcome(
        offer,
        True,
        f"“{product.title}” removed from “{offer.title}” for {_customers(len(accesses))}.",
    )


def _check_offer_products(site_id: int, products: Iterable[Product]) -> list[Product]:
    products = sorted(set(products), key=lambda product: product.pk)
    if any(product.site_id != site_id for product in products):
        raise ValidationError("That product belongs to another site.")
    return products


def create_offer(
    *,
    site,
    actor: Actor,
    title: str,
    products: Iterable[Product],
    price: Decimal,
    payment_type: str,
    interval: str = Offer.Interval.MONTH,
    installments: int | None = None,
    access_days: int | None = None,
) -> Outcome:
    """Create an Offer with its Products; nobody holds it yet, so no access changes."""
    products = _check_offer_products(site.pk, products)
    offer = Offer(
        site=site,
        title=title,
        price=price,
        payment_type=payment_type,
        interval=interval,
        installments=installments,
        access_days=access_days,
    )
    offer.full_clean()
    with transaction.atomic():
        offer.save()
        offer.products.set(products)
    return Outcome(offer, True, f"“{offer.title}” created.")


def update_offer(
    *,
    offer: Offer,
    actor: Actor,
    title: str,
    products: Iterable[Product],
    price: Decimal,
    payment_type: str,
    interval: str,
    installments: int | None,
    access_days: int | None,
) -> Outcome:
    """Change a live Offer's details and Products in one transaction.

    Products come and go through add_product_to_offer and remove_product_from_offer, so
    every existing customer gains or loses them with one AccessEvent each. The price,
    payment type and access days apply to new grants only: existing grants, their
    expiry and their billing stay as they are.
    """
    products = _check_offer_products(offer.site_id, products)
    with transaction.atomic():
        offer = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
        if offer.is_deleted:
            raise ValidationError(f"“{offer.title}” was deleted; restore it before editing it.")
        details = {
            "title": title,
            "price": price,
            "payment_type": payment_type,
            "interval": interval,
            "installments": installments,
            "access_days": access_days,
        }
        for name, value in details.items():
            setattr(offer, name, value)
        offer.full_clean()
        # full_clean may tidy values (a one-time offer has no installments): compare after.
        saved = Offer.objects.filter(pk=offer.pk).values(*details).get()
        changed = [name for name in details if getattr(offer, name) != saved[name]]
        if changed:
            offer.save(update_fields=changed)
        current = set(offer.products.values_list("pk", flat=True))
        wanted = {product.pk for product in products}
        notes = []
        for product in products:
            if product.pk not in current:
                notes.append(add_product_to_offer(offer=offer, product=product, actor=actor))
        for product in Product.objects.filter(pk__in=current - wanted).order_by("pk"):
            notes.append(remove_product_from_offer(offer=offer, product=product, actor=actor))
    if not changed and not notes:
        return Outcome(offer, False, f"Nothing to change in “{offer.title}”.")
    message = " ".join([f"“{offer.title}” saved.", *(note.message for note in notes)])
    return Outcome(offer, True, message)


def delete_offer(*, offer: Offer, actor: Actor, now: datetime | None = None) -> Outcome:
    """Retire an Offer: it can no longer be granted or sold.

    A soft delete: every grant of the Offer, its access and its billing stay exactly
    as they were, and restore_offer brings the Offer back. `now` is when it was
    deleted; it defaults to the present.
    """
    with transaction.atomic():
        locked = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
        offer.deleted_at = locked.deleted_at
        if locked.is_deleted:
            return Outcome(offer, False, f"“{locked.title}” was already deleted.")
        locked.deleted_at = offer.deleted_at = now or timezone.now()
        locked.save(update_fields=["deleted_at"])
    return Outcome(
        offer, True, f"“{locked.title}” deleted. Its customers keep their access to its products."
    )


def restore_offer(*, offer: Offer, actor: Actor) -> Outcome:
    """Bring a deleted Offer back, so it can be granted and sold again."""
    with transaction.atomic():
        locked = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
        offer.deleted_at = locked.deleted_at
        if not locked.is_deleted:
            return Outcome(offer, False, f"“{locked.title}” is not deleted.")
        locked.deleted_at = offer.deleted_at = None
        locked.save(update_fields=["deleted_at"])
    return Outcome(offer, True, f"“{locked.title}” restored: it can be granted and sold again.")
