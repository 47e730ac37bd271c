from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from kajaccess.models import Site
from kajaccess.validators import single_line


class Tag(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=80, validators=[single_line])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("site", Lower("name"), name="unique_tag_name_per_site"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person on a creator's list; a customer once they hold a Grant."""

    # No index of its own: every index of Meta.indexes starts with the site.
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True, validators=[single_line])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        help_text="The login with which this contact opens the Library.",
    )
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    test_card_declines = models.BooleanField(
        default=False, help_text="The test payment gateway declines this contact's card."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Access facts, kept by the access services (purchases.access.facts) in the change's
    # own transaction, so that the Contacts tab filters and sorts on indexed columns.
    # Defaults in the database too, for rows written by hand (COPY, a raw INSERT).
    is_customer = models.BooleanField(
        default=False, db_default=False, help_text="Holds or held a Grant."
    )
    products_count = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Total products: the Products the contact can open now."
    )
    has_revoked_access = models.BooleanField(default=False, db_default=False)
    subscription_states = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="The states of the contact's subscriptions, a bit each "
        "(purchases.access.facts.SUBSCRIPTION_BITS).",
    )
    access_changes_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The next moment these facts change by themselves (access starts or ends).",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint("site", Lower("email"), name="unique_contact_email_per_site"),
        ]
        indexes = [
            models.Index(fields=["site", "-created_at", "-id"], name="contact_site_created"),
            models.Index(fields=["site", "email"], name="contact_site_email"),
            # The sorts of the Contacts tab, each with the id that breaks its ties, so that
            # a page is one range of an index whichever its depth (contacts/paging.py).
            models.Index(fields=["site", "name", "email", "id"], name="contact_site_name_page"),
            models.Index(
                fields=["site", "last_activity_at", "id"], name="contact_site_activity_page"
            ),
            models.Index(fields=["site", "is_customer", "id"], name="contact_site_customer"),
            models.Index(fields=["site", "products_count", "id"], name="contact_site_products"),
            models.Index(
                fields=["site", "id"],
                condition=models.Q(has_revoked_access=True),
                name="contact_site_revoked",
            ),
            models.Index(
                fields=["access_changes_at"],
                condition=models.Q(access_changes_at__isnull=False),
                name="contact_access_changes",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email


class ContactCount(models.Model):
    """How many contacts a site has: the Contacts tab's total, without counting them.

    Kept by the services that add contacts (contacts/services.py), in the transaction
    that adds them; `contacts_count` counts the rows again for a site that has none yet.
    """

    site = models.OneToOneField(
        Site, on_delete=models.CASCADE, primary_key=True, related_name="contact_count"
    )
    contacts = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.contacts} contacts"


class ContactTag(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "tag"], name="unique_contact_tag"),
        ]
        indexes = [models.Index(fields=["tag", "contact"], name="contacttag_tag_contact")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.contact}"


class PastedSelection(models.Model):
    """The contacts a pasted list of emails matched, kept for the bulk actions that use them.

    Kept on the server, not in the page: a list of 100,000 emails is too many ids to send
    back and forth. Only the member who pasted it selects with it.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="pasted_selections")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pasted_selections"
    )
    created_at = models.DateTimeField(default=timezone.now)
    contacts = models.ManyToManyField(Contact, related_name="+", blank=True)
    # How many contacts matched when it was pasted: those deleted since are counted apart.
    matched = models.PositiveIntegerField(default=0)
    emails = models.PositiveIntegerField(default=0, help_text="Distinct valid emails pasted.")
    not_found = models.JSONField(default=list, blank=True)
    invalid = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.matched} contacts from {self.emails} emails"


class ContactImport(models.Model):
    """A file of contacts a member uploaded: read, mapped and checked before anything changes.

    The file itself is kept only until the import starts: its rows are then what runs.
    """

    class Existing(models.TextChoices):
        KEEP = "keep", "Leave them as they are"
        UPDATE = "update", "Update their name and tags from the file"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_imports"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file = models.BinaryField(blank=True)
    headers = models.JSONField(default=list)
    # The first rows, to show beside the columns while they are mapped.
    sample = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    # The columns (0-based; None for none) and choices of the last check: email, name,
    # tags, offer (an Offer's id, or None), send_email, tag, existing.
    options = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name


class ImportRow(models.Model):
    """One row of an uploaded file, as its mapping reads it, and why it cannot be imported."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="rows")
    # Its row in the file as a spreadsheet numbers it: the header row is row 1.
    number = models.PositiveIntegerField()
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    problem = models.CharField(max_length=120, blank=True)
    # The cells as read, kept for the rows that cannot be imported (their CSV).
    cells = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_import", "number"], name="unique_import_row_number"
            ),
        ]

    def __str__(self) -> str:
        return f"Row {self.number}: {self.email or self.problem}"

    @property
    def cells_shown(self) -> str:
        """Its cells that hold something, as the preview lists a row it cannot import."""
        return " · ".join(cell for cell in self.cells if cell)
