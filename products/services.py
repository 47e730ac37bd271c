"""Changes a customer makes to their own Product Progress."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from products.models import Lesson, LessonCompletion
from products.signals import progress_changed


def complete_lesson(
    *, contact: Contact, lesson: Lesson, now: datetime | None = None
) -> tuple[LessonCompletion, bool]:
    """Record that a contact finished a lesson; returns the completion and whether it is new.

    A lesson is completed once: a second call returns the first completion and changes
    nothing, not even the contact's last activity. Whether the contact may open the
    lesson is the caller's question (the Library asks the access selector first); a lesson
    of another site's Product is refused here, whatever the caller asked.
    """
    if lesson.product.site_id != contact.site_id:
        raise ValidationError("That lesson belongs to another site.")
    now = now or timezone.now()
    with transaction.atomic():
        existing = LessonCompletion.objects.filter(contact=contact, lesson=lesson).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                completion = LessonCompletion.objects.create(
                    contact=contact, lesson=lesson, completed_at=now
                )
        except IntegrityError:
            # A second click that raced the first: the first one counts.
            return LessonCompletion.objects.get(contact=contact, lesson=lesson), False
        Contact.objects.filter(pk=contact.pk).update(last_activity_at=now)
        contact.last_activity_at = now
        progress_changed.send(sender=LessonCompletion, contact_id=contact.pk)
    return completion, True
