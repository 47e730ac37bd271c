from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from contacts.models import Contact
from kajaccess.models import Site
from kajaccess.validators import single_line

# Bounds a creator can set on an Offer: beyond them a date computed from them overflows,
# or the number is a typing slip rather than an offer anyone would sell.
ACCESS_DAYS_MAX = 3650  # ten years
INSTALLMENTS_MAX = 120  # ten years of monthly payments
PRICE_MAX = Decimal("1000000")


class Product(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course"
        COMMUNITY = "community", "Community"
        COACHING = "coaching", "Coaching"
        DOWNLOAD = "download", "Download"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=200, validators=[single_line])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COURSE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["product", "position"]
        constraints = [
            models.UniqueConstraint(fields=["product", "position"], name="unique_lesson_position"),
        ]

    def __str__(self) -> str:
        return self.title


class LessonCompletion(models.Model):
    """Product Progress: it belongs to the contact, not to their access, so it survives a revoke."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="completions")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="completions")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "lesson"], name="unique_lesson_completion"),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} completed by {self.contact}"


class OfferQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)


class Offer(models.Model):
    class PaymentType(models.TextChoices):
        FREE = "free", "Free"
        ONE_TIME = "one_time", "One-time payment"
        SUBSCRIPTION = "subscription", "Subscription"
        PAYMENT_PLAN = "payment_plan", "Payment plan"

        @property
        def description(self) -> str:
            """What the type means for the customer, in one sentence."""
            return _PAYMENT_TYPE_DESCRIPTIONS[self]

        @property
        def pricing_fields(self) -> tuple[str, ...]:
            """The Offer's fields this type gives a meaning to; the others are left unset."""
            return _PRICING_FIELDS[self]

    class Interval(models.TextChoices):
        MONTH = "month", "Month"
        YEAR = "year", "Year"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="offers")
    title = models.CharField(max_length=200, validators=[single_line])
    products = models.ManyToManyField(Product, related_name="offers", blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[
            MinValueValidator(0, "A price cannot be negative."),
            MaxValueValidator(PRICE_MAX, f"A price can be at most {PRICE_MAX:,}."),
        ],
    )
    currency = models.CharField(max_length=3, default="USD")
    payment_type = models.CharField(
        max_length=20, choices=PaymentType.choices, default=PaymentType.ONE_TIME
    )
    interval = models.CharField(
        max_length=10,
        choices=Interval.choices,
        default=Interval.MONTH,
        help_text="How often a subscription or payment plan bills.",
    )
    installments = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Number of payments of a payment plan.",
        validators=[
            MaxValueValidator(
                INSTALLMENTS_MAX, f"A payment plan can have at most {INSTALLMENTS_MAX} payments."
            )
        ],
    )
    access_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(1, "Access lasts at least 1 day."),
            MaxValueValidator(
                ACCESS_DAYS_MAX, f"Access can last at most {ACCESS_DAYS_MAX} days (ten years)."
            ),
        ],
        verbose_name="Restrict access to a specific amount of days",
        help_text="Access ends this many days after it starts. Applies to new grants only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="offer_price_not_negative"),
            models.CheckConstraint(
                condition=Q(access_days__isnull=True) | Q(access_days__gte=1),
                name="offer_access_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def bills_repeatedly(self) -> bool:
        return self.payment_type in (self.PaymentType.SUBSCRIPTION, self.PaymentType.PAYMENT_PLAN)

    def clean(self):
        # The payment type decides what the price and the number of payments mean.
        errors = {}
        if self.payment_type == self.PaymentType.FREE:
            if self.price:
                errors["price"] = "A free offer has no price: set it to 0 or pick a paid type."
        elif self.price is not None and self.price <= 0:
            errors["price"] = "Set a price above 0, or make the offer free."
        if self.payment_type == self.PaymentType.PAYMENT_PLAN:
            if not self.installments or self.installments < 2:
                errors["installments"] = "A payment plan needs a number of payments: 2 or more."
        else:
            self.installments = None
        if errors:
            raise ValidationError(errors)


_PAYMENT_TYPE_DESCRIPTIONS = {
    Offer.PaymentType.FREE: "Customers get access without paying: a trial, a bonus or a gift.",
    Offer.PaymentType.ONE_TIME: "Customers pay the price once.",
    Offer.PaymentType.SUBSCRIPTION: "Customers pay the price every month or year, "
    "and keep access until the subscription is canceled.",
    Offer.PaymentType.PAYMENT_PLAN: "Customers pay the price a set number of times, "
    "every month or year, and keep access once it is paid in full.",
}
_PRICING_FIELDS = {
    Offer.PaymentType.FREE: (),
    Offer.PaymentType.ONE_TIME: ("price",),
    Offer.PaymentType.SUBSCRIPTION: ("price", "interval"),
    Offer.PaymentType.PAYMENT_PLAN: ("price", "installments", "interval"),
}
