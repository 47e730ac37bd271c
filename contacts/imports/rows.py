"""The rows of an uploaded file as its column mapping reads them, each checked like a contact
added by hand, or the reason it cannot be imported."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from contacts.imports.files import Sheet
from contacts.services import clean_contact_email, clean_contact_name

TAG_MAX_LENGTH = 80
TAGS_PER_ROW = 20
TAG_SEPARATORS = re.compile(r"[,;|]")

# Header words that name a column plainly enough to map it without asking.
OBVIOUS = {
    "email": re.compile(r"^(e-?mail|e-?mail address|email_address|student email|customer email)$"),
    "name": re.compile(r"^(name|full name|full_name|customer name|student name|contact name)$"),
    "tags": re.compile(r"^(tags?|labels?)$"),
}

NO_EMAIL = "no email"
NOT_AN_EMAIL = "not an email"
EMAIL_TOO_LONG = "email too long"
NAME_TOO_LONG = "name too long"
TAG_TOO_LONG = "tag too long"
TOO_MANY_TAGS = "too many tags"
DUPLICATE = "same email as an earlier row"


@dataclass
class Mapping:
    """Which column (0-based) holds the email, the name and the tags; None for none."""

    email: int
    name: int | None = None
    tags: int | None = None


def guess_mapping(sheet: Sheet) -> dict[str, int | None]:
    """The columns whose headers say plainly what they hold; else the one full of emails."""
    guessed: dict[str, int | None] = dict.fromkeys(OBVIOUS)
    for index, header in enumerate(sheet.headers):
        words = " ".join(header.lower().split())
        for name, pattern in OBVIOUS.items():
            if guessed[name] is None and pattern.match(words):
                guessed[name] = index
    if guessed["email"] is None:
        sample = sheet.rows[:20]
        for index in range(len(sheet.headers)):
            if sample and sum("@" in row[index] for row in sample) * 2 > len(sample):
                guessed["email"] = index
                break
    return guessed


@dataclass
class Row:
    """One data row of the file, read through the mapping."""

    number: int
    email: str = ""
    name: str = ""
    tags: list[str] = field(default_factory=list)
    problem: str = ""
    cells: list[str] = field(default_factory=list)


def read_row(number: int, cells: list[str], mapping: Mapping) -> Row:
    """A row's email, name and tags, cleaned as `Add contact` cleans them, or its problem."""
    row = Row(number=number)
    raw_email = cells[mapping.email]
    try:
        row.email = clean_contact_email(raw_email)
        if mapping.name is not None:
            row.name = clean_contact_name(cells[mapping.name])
    except ValidationError as error:
        row.problem = _problem(error, raw_email)
    if not row.problem and mapping.tags is not None:
        row.tags = _tags(cells[mapping.tags])
        if len(row.tags) > TAGS_PER_ROW:
            row.problem = TOO_MANY_TAGS
        elif any(len(tag) > TAG_MAX_LENGTH for tag in row.tags):
            row.problem = TAG_TOO_LONG
    if row.problem:
        row.email, row.name, row.tags, row.cells = "", "", [], cells
    return row


def _problem(error: ValidationError, raw_email: str) -> str:
    if "name" in error.message_dict:
        return NAME_TOO_LONG
    if not raw_email.strip():
        return NO_EMAIL
    if len(raw_email.strip()) > 254:
        return EMAIL_TOO_LONG
    return NOT_AN_EMAIL


def _tags(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for part in TAG_SEPARATORS.split(text):
        name = " ".join(part.split())
        if name:
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def read_rows(sheet: Sheet, mapping: Mapping):
    """Every row that is not blank, in the file's order; an email seen before is refused."""
    first_row: dict[str, int] = {}
    for offset, cells in enumerate(sheet.rows):
        if not any(cells):
            continue
        row = read_row(sheet.first_number + offset, cells, mapping)
        if row.email:
            key = row.email.lower()
            if key in first_row:
                row.problem = f"same email as row {first_row[key]}"
                row.email, row.name, row.tags, row.cells = "", "", [], cells
            else:
                first_row[key] = row.number
        yield row


def reason(problem: str) -> str:
    """The reason a summary counts a row under: every duplicate under one."""
    return DUPLICATE if problem.startswith("same email as row") else problem
