"""The only code that changes a contact's tags."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, ContactTag, Tag
from contacts.signals import tag_added
from kajaccess.actors import Actor
from kajaccess.models import Site


def tag_get_or_create(*, site: Site, name: str) -> Tag:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("A tag needs a name.")
    if len(name) > 80:
        raise ValidationError("A tag name can be at most 80 characters.")
    existing = Tag.objects.filter(site=site, name__iexact=name).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Tag.objects.create(site=site, name=name)
    except IntegrityError:
        return Tag.objects.get(site=site, name__iexact=name)


def add_tag(*, tag: Tag, contact_ids: Iterable[int], actor: Actor, bulk_action=None) -> list[int]:
    """Tag many contacts of the tag's site; returns the ids that did not have it before.

    Automations on "a tag is added" run once for each of those contacts, after commit.
    """
    with transaction.atomic():
        ids = list(
            Contact.objects.filter(pk__in=list(contact_ids), site_id=tag.site_id)
            .exclude(contacttag__tag=tag)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        ContactTag.objects.bulk_create(
            [ContactTag(contact_id=pk, tag=tag, added_at=now) for pk in ids],
            ignore_conflicts=True,
        )
        if ids:
            transaction.on_commit(
                lambda: tag_added.send(
                    sender=Tag,
                    site_id=tag.site_id,
                    tag=tag,
                    contact_ids=ids,
                    actor=actor,
                    bulk_action=bulk_action,
                )
            )
    return ids


def remove_tag(*, tag: Tag, contact_ids: Iterable[int], actor: Actor) -> list[int]:
    """Untag many contacts; returns the ids that had the tag."""
    with transaction.atomic():
        links = ContactTag.objects.filter(
            tag=tag, contact_id__in=list(contact_ids), contact__site_id=tag.site_id
        )
        ids = sorted(links.values_list("contact_id", flat=True))
        ContactTag.objects.filter(tag=tag, contact_id__in=ids).delete()
    return ids
