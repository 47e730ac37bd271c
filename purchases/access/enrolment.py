"""Adding a contact who is granted an Offer at once: both happen, or neither."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.models import Contact, Tag
from contacts.services import contact_create
from kajaccess.actors import Actor
from kajaccess.models import Site
from kajaccess.outcomes import Outcome
from products.models import Offer
from purchases.access.services import grant_offer


def contact_add(
    *,
    site: Site,
    email: str,
    name: str = "",
    tags: Iterable[Tag] = (),
    new_tag_names: Iterable[str] = (),
    offer: Offer | None = None,
    actor: Actor,
    library_sign_in: bool = False,
    site_url: str = "",
) -> tuple[Contact, Outcome | None]:
    """Add a contact (contacts.services.contact_create) and grant it `offer`, if one is given.

    The Offer is read again, locked, inside the same transaction: one deleted since the
    form was shown is refused, and then no contact is added either.
    """
    with transaction.atomic():
        contact = contact_create(
            site=site,
            email=email,
            name=name,
            tags=tags,
            new_tag_names=new_tag_names,
            actor=actor,
            library_sign_in=library_sign_in,
            site_url=site_url,
        )
        if offer is None:
            return contact, None
        locked = Offer.objects.select_for_update(no_key=True).filter(pk=offer.pk, site=site).first()
        if locked is None or locked.is_deleted:
            raise ValidationError(
                {"offer": f"“{offer.title}” was deleted and can no longer be granted."},
                code="deleted",
            )
        return contact, grant_offer(contact=contact, offer=locked, actor=actor)
