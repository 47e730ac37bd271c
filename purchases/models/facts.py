"""Access facts: what the lists filter, sort and count by, kept beside the rows they summarise.

The access services keep them, in the same transaction as each change, through
`purchases.access.facts.refresh_access_facts`; `manage.py reconcile_access_facts`
recomputes them from the source rows and must always find them equal. A contact's own
summary lives on `Contact` (`is_customer`, `products_count`, `has_revoked_access`,
`access_changes_at`), so the Contacts tab sorts and filters on indexed columns.
"""

from django.db import models

from contacts.models import Contact
from kajaccess.models import Site
from products.models import Offer, Product


class ProductHolder(models.Model):
    """A contact who holds or held a Product: their best state in it, and their progress."""

    # No index of their own on the keys, here and in the holders and counters below: each
    # key leads a unique constraint or an index already, and every index more is written
    # on every change of access.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="product_holds", db_index=False
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="holders", db_index=False
    )
    # AccessState.rank of the best of the contact's accesses to the Product.
    access_rank = models.PositiveSmallIntegerField()
    lessons_done = models.PositiveIntegerField(default=0)
    last_completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "product"], name="unique_product_holder"),
        ]
        indexes = [
            # The Product Progress report: its holders, by state and by progress, paged by key.
            models.Index(fields=["product", "access_rank", "contact"], name="holder_product_rank"),
            models.Index(fields=["product", "lessons_done", "contact"], name="holder_product_done"),
            models.Index(fields=["product", "contact"], name="holder_product_contact"),
            models.Index(
                fields=["product", "last_completed_at", "contact"], name="holder_product_last"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} holds {self.product_id}"


class OfferHolder(models.Model):
    """A contact who holds or held a Grant of an Offer: the best own state of their grants."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="offer_holds", db_index=False
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="holders", db_index=False
    )
    access_rank = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "offer"], name="unique_offer_holder"),
        ]
        indexes = [models.Index(fields=["offer", "contact"], name="holder_offer_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} holds {self.offer_id}"


# The counters are rows of changes, only ever inserted and summed when read, then folded
# together by `compact_access_counts`: an UPDATE of one counter row per Product would make
# every grant of a popular Product wait for every other one, and lock rows out of order.


class ProductCount(models.Model):
    """A change in how many holders of a Product are in a state with so many lessons done."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    access_rank = models.PositiveSmallIntegerField()
    lessons_done = models.PositiveIntegerField()
    holders = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["product", "access_rank"], name="productcount_product")]

    def __str__(self) -> str:
        return f"{self.holders:+d} holders of {self.product_id} at {self.access_rank}"


class OfferCount(models.Model):
    """A change in how many holders of an Offer are in a state."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+", db_index=False)
    access_rank = models.PositiveSmallIntegerField()
    holders = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["offer", "access_rank"], name="offercount_offer")]

    def __str__(self) -> str:
        return f"{self.holders:+d} holders of {self.offer_id} at {self.access_rank}"


class WeekHolder(models.Model):
    """A contact's grants and revokes of a Product in one week, for the Progress report's chart.

    Kept for the weeks the chart shows (`purchases.access.facts.chart_mondays`); older rows
    are dropped when the counters are compacted.
    """

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="week_holds", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday the week starts on.")
    granted = models.PositiveIntegerField(default=0)
    revoked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "product", "week"], name="unique_week_holder"
            ),
        ]
        indexes = [models.Index(fields=["week"], name="weekholder_week")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.product_id} in the week of {self.week}"


class ProductWeek(models.Model):
    """A change in how many grants and revokes of a Product a week holds."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    week = models.DateField()
    granted = models.IntegerField(default=0)
    revoked = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["product", "week"], name="productweek_product")]

    def __str__(self) -> str:
        return f"{self.granted:+d} grants, {self.revoked:+d} revokes of {self.product_id}"


class ContactStateCount(models.Model):
    """A change in how many contacts of a site are in a state the Contacts tab filters by
    (`has_access`, `revoked`, or `billing:<subscription status>`)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    state = models.CharField(max_length=30)
    contacts = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["site", "state"], name="statecount_site_state")]

    def __str__(self) -> str:
        return f"{self.contacts:+d} contacts of {self.site_id} {self.state}"
