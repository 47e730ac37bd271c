"""factory-boy factories: the tests' data, and the demo data's generated contacts."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.imports.steps import import_check, import_upload
from contacts.models import Contact, Tag
from contacts.services import contacts_recount
from kajaccess.models import Site, SiteMembership
from products.models import Lesson, LessonCompletion, Offer, Product
from purchases.access.facts import refresh_access_facts
from purchases.models import (
    AccessEvent,
    Grant,
    ProductAccess,
    Subscription,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from purchases.webhooks.events import EVENT_TYPES
from purchases.webhooks.services import webhook_endpoint_create

DEMO_PASSWORD = "kajaccess-demo"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda o: o.email)
    first_name = ""
    password = factory.PostGenerationMethodCall("set_password", DEMO_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)
    # A site has one owner: the first member is it, a further one an administrator.
    role = factory.LazyAttribute(
        lambda m: (
            SiteMembership.Role.ADMIN
            if SiteMembership.objects.filter(site=m.site, role=SiteMembership.Role.OWNER).exists()
            else SiteMembership.Role.OWNER
        )
    )


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Tag {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    site = factory.SubFactory(SiteFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Written straight into the table, as no service would: the site's total is
        # counted again, as after any such write.
        contact = super()._create(model_class, *args, **kwargs)
        contacts_recount(site=contact.site)
        return contact


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    site = factory.SubFactory(SiteFactory)
    title = factory.Sequence(lambda n: f"Course {n}")
    kind = Product.Kind.COURSE

    @factory.post_generation
    def lessons(obj, create, extracted, **kwargs):
        """`ProductFactory(lessons=5)` adds five lessons."""
        if create and extracted:
            Lesson.objects.bulk_create(
                Lesson(product=obj, title=f"Lesson {i}", position=i)
                for i in range(1, int(extracted) + 1)
            )


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    product = factory.SubFactory(ProductFactory)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    position = factory.Sequence(lambda n: n + 1)


class LessonCompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonCompletion

    contact = factory.SubFactory(ContactFactory)
    lesson = factory.SubFactory(LessonFactory)
    completed_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            refresh_access_facts(contact_ids=[instance.contact_id])


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer
        skip_postgeneration_save = True

    site = factory.SubFactory(SiteFactory)
    title = factory.Sequence(lambda n: f"Offer {n}")
    price = Decimal("99.00")
    payment_type = Offer.PaymentType.ONE_TIME

    @factory.post_generation
    def products(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.products.set(extracted)


class GrantFactory(factory.django.DjangoModelFactory):
    """A bare active grant with one ProductAccess per Product of its Offer.

    Tests that care about events or billing call the services instead.
    """

    class Meta:
        model = Grant
        skip_postgeneration_save = True

    site = factory.LazyAttribute(lambda o: o.offer.site)
    contact = factory.SubFactory(ContactFactory, site=factory.SelfAttribute("..offer.site"))
    offer = factory.SubFactory(OfferFactory)
    source = Grant.Source.MANUAL
    starts_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def accesses(obj, create, extracted, **kwargs):
        if create:
            ProductAccess.objects.bulk_create(
                ProductAccess(grant=obj, product=p) for p in obj.offer.products.all()
            )
            # Rows written here, not by the services: their access facts are kept as a
            # service keeps them.
            refresh_access_facts(contact_ids=[obj.contact_id])


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    grant = factory.SubFactory(GrantFactory)
    amount = Decimal("29.00")
    next_billing_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            refresh_access_facts(contact_ids=[instance.grant.contact_id])


def checked_import(*, site, user, text: str, name="customers.csv", **choices):
    """A file uploaded by `user` and checked with its obvious columns, as `Check the file` does."""
    contact_import = import_upload(site=site, user=user, name=name, data=text.encode())
    mapping = Mapping(**contact_import.options["mapping"])
    import_check(contact_import=contact_import, mapping=mapping, choices=Choices(**choices))
    contact_import.refresh_from_db()
    return contact_import


def webhook_delivery_logged(*, site, actor) -> WebhookDelivery:
    """An endpoint of `site` switched off after failing, with one failed attempt in its log."""
    endpoint = webhook_endpoint_create(
        site=site, url="https://hooks.example.com/kajaccess", event_types=EVENT_TYPES, actor=actor
    ).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=timezone.now(),
        disabled_reason="The access.revoked event could not be delivered after 8 attempts.",
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="evt_access_1",
        type="access.revoked",
        access_event=AccessEvent.objects.filter(site=site).first(),
        status=WebhookDelivery.Status.FAILED,
        attempts=1,
    )
    WebhookAttempt.objects.create(delivery=delivery, number=1, response_status=500, duration_ms=42)
    return delivery
