"""A pasted list of emails made a selection: stored once, then read by every bulk action."""

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils.text import Truncator

from contacts.bulk.emails import MAX_EMAILS, parse_emails
from contacts.bulk.stored import store_contacts
from contacts.models import Contact, PastedSelection
from kajaccess.models import Site

# Emails looked up, and their contacts stored, per statement where each email is a
# parameter: well under every database's bound. On PostgreSQL they go as one array
# (`field__any`), so a whole paste is one statement: in statements of a thousand, the
# planner chose to read every contact of a small site for each of them.
CHUNK = 1000

NOT_YOURS = "This list of emails is not one you pasted on this site. Paste the emails again."


def pasted_selection_create(*, site: Site, user, text: str) -> PastedSelection:
    """Store the contacts of `site` whose emails `text` lists, and the emails that match none.

    Refuses (ValidationError, nothing stored) a paste with no email at all or with more
    than MAX_EMAILS entries. Case and whitespace do not matter; duplicates count once.
    """
    pasted = parse_emails(text)
    entries = len(pasted.emails) + len(pasted.invalid)
    if entries > MAX_EMAILS:
        raise ValidationError(
            f"Paste at most {MAX_EMAILS:,} emails at a time ({entries:,} were pasted). "
            "Nothing was selected."
        )
    if not pasted.emails:
        if pasted.invalid:
            raise ValidationError(
                f"No email was found in what you pasted: “{pasted.invalid[0][:80]}” "
                "is not an email."
            )
        raise ValidationError("Paste at least one email.")
    contacts = Contact.objects.filter(site=site).annotate(email_lower=Lower("email"))
    with transaction.atomic():
        selection = PastedSelection.objects.create(
            site=site, created_by=user, emails=len(pasted.emails), invalid=pasted.invalid
        )
        link = PastedSelection.contacts.through
        size = MAX_EMAILS if connection.vendor == "postgresql" else CHUNK
        for start in range(0, len(pasted.emails), size):
            chunk = pasted.emails[start : start + size]
            store_contacts(
                link, "pastedselection", selection.pk, contacts.filter(email_lower__any=chunk)
            )
        found = set(
            selection.contacts.annotate(email_lower=Lower("email"))
            .order_by()
            .values_list("email_lower", flat=True)
        )
        selection.matched = len(found)
        selection.not_found = [email for email in pasted.emails if email not in found]
        selection.save(update_fields=["matched", "not_found"])
    return selection


def pasted_selection_for(*, site: Site, user, pasted_id) -> PastedSelection:
    """The pasted selection `pasted_id` if `user` made it on `site`, else a ValidationError."""
    selection = PastedSelection.objects.filter(
        site=site, created_by=user, pk=_whole_number(pasted_id)
    ).first()
    if selection is None:
        raise ValidationError(NOT_YOURS)
    return selection


def _whole_number(value) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationError(NOT_YOURS)
    return int(text)


# The emails the banner lists, and how much of each; the CSV has all of them in full.
SHOWN_NOT_FOUND = 5
SHOWN_CHARACTERS = 80


class PastedBanner:
    """What the Contacts tab says of a pasted selection, as it is now."""

    def __init__(self, pasted: PastedSelection, listed: int | None = None):
        """`listed`: how many of its contacts the table's search lists, when searched within."""
        self.pasted = pasted
        self.pk = pasted.pk
        self.selected = pasted.contacts.count()
        self.listed = listed
        # What a bulk action acts on: the part the search lists, or all of it.
        self.acts_on = self.selected if listed is None else listed
        missing = pasted.not_found + pasted.invalid
        # An entry can be anything pasted, however long: the banner shows its start only.
        self.not_found_sample = [
            Truncator(entry).chars(SHOWN_CHARACTERS) for entry in missing[:SHOWN_NOT_FOUND]
        ]
        self.more_not_found = len(missing) - len(self.not_found_sample)
        self.missing_label = "Not found or not an email" if pasted.invalid else "Not found"

    @property
    def message(self) -> str:
        pasted = self.pasted
        contacts = "contact" if self.selected == 1 else "contacts"
        emails = "email" if pasted.emails == 1 else "emails"
        text = (
            f"{self.selected:,} {contacts} selected from {pasted.emails:,} {emails}; "
            f"{len(pasted.not_found):,} not found"
        )
        if len(pasted.invalid) == 1:
            text += "; 1 is not an email"
        elif pasted.invalid:
            text += f"; {len(pasted.invalid):,} are not emails"
        deleted = pasted.matched - self.selected
        if deleted:
            text += f"; {deleted:,} deleted since"
        return text

    @property
    def search_message(self) -> str:
        """What a search within the selection leaves of it, or "" when none is made."""
        if self.listed is None:
            return ""
        if not self.listed:
            return "None of them match this search: a bulk action has no contact to act on."
        if self.listed == 1:
            return "1 of them matches this search: a bulk action acts on that one only."
        return f"{self.listed:,} of them match this search: a bulk action acts on those only."
