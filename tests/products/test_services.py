from datetime import timedelta

import pytest
from django.utils import timezone

from products import services
from products.models import LessonCompletion
from tests.factories import ContactFactory, LessonFactory

pytestmark = pytest.mark.django_db


def test_complete_lesson_records_the_completion_and_the_activity_once():
    contact = ContactFactory()
    lesson = LessonFactory(product__site=contact.site)
    first = timezone.now() - timedelta(hours=1)

    completion, created = services.complete_lesson(contact=contact, lesson=lesson, now=first)
    assert created
    assert completion.completed_at == first
    contact.refresh_from_db()
    assert contact.last_activity_at == first

    again, created = services.complete_lesson(contact=contact, lesson=lesson)
    assert not created
    assert again.pk == completion.pk
    contact.refresh_from_db()
    assert contact.last_activity_at == first
    assert LessonCompletion.objects.filter(contact=contact, lesson=lesson).count() == 1
