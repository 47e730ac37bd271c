"""Reading a pasted list of emails: one a line, or separated by commas, semicolons or spaces."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# More than a chargeback report or a course's roster; the paste is refused above it.
MAX_EMAILS = 100_000

SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class PastedList:
    """What a paste holds: its distinct valid emails and, apart, what is not an email."""

    emails: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    duplicates: int = 0


def normalise(entry: str) -> str:
    # Contacts are unique per site by their lowercased email: compare them the same way.
    return entry.strip().lower()


def parse_emails(text: str) -> PastedList:
    """Split `text` into distinct emails, in the order pasted, keeping invalid entries apart.

    Every distinct entry (after case and whitespace are normalised) is in exactly one of
    `emails` and `invalid`; an entry seen again is counted in `duplicates`.
    """
    result = PastedList()
    seen = set()
    for entry in SEPARATORS.split(text):
        entry = normalise(entry)
        if not entry:
            continue
        if entry in seen:
            result.duplicates += 1
            continue
        seen.add(entry)
        try:
            validate_email(entry)
        except ValidationError:
            result.invalid.append(entry)
        else:
            result.emails.append(entry)
    return result
