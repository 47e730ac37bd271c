"""Reading an uploaded CSV or XLSX file into rows of text, or refusing it in plain words."""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

MAX_ROWS = 100_000
MAX_COLUMNS = 100

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
DELIMITERS = ",;\t|"

# A spreadsheet runs a cell that starts with "=", or with "+", "-" or "@" and a function
# call; such a cell is refused rather than imported as text someone may open later.
FORMULA = re.compile(r"^\s*(=|[+\-@]\s*[A-Za-z_][\w.]*\s*\()")
# An XLSX keeps a formula in an <f> element beside the value it last computed; tablib
# reads only the value, so the sheets' XML is searched for formulas as it is unpacked.
XLSX_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


class BadFile(ValidationError):
    """A file that cannot be imported at all; nothing was read from it."""

    def __init__(self, message: str):
        super().__init__({"file": message}, code="bad_file")


@dataclass
class Sheet:
    """A file's cells as text: the header row's, if it has one, and every data row's."""

    format: str
    headers: list[str]
    rows: list[list[str]]
    # The number in the file of the first data row: 2 below a header row, else 1.
    first_number: int


def too_large() -> str:
    return f"The file is larger than {filesizeformat(settings.FILE_UPLOAD_MAX_SIZE)}. Split it."


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_sheet(data: bytes, *, file_name: str) -> Sheet:
    """The rows of a CSV (UTF-8 or UTF-16, any usual delimiter) or XLSX file.

    Raises BadFile for anything else, for an empty file, for one of more than MAX_ROWS
    data rows or FILE_UPLOAD_MAX_SIZE bytes, and for a formula in any cell. A first row with an email in
    it is taken as data, with no header row.
    """
    if len(data) > settings.FILE_UPLOAD_MAX_SIZE:
        raise BadFile(too_large())
    if not data.strip():
        raise BadFile("The file is empty.")
    if data.startswith(XLS_MAGIC):
        raise BadFile(
            "This is an Excel 97–2003 file (.xls). Save it as an Excel workbook (.xlsx) "
            "or as CSV, then upload it again."
        )
    if data.startswith(XLSX_MAGIC):
        file_format, rows = "xlsx", _xlsx_rows(data)
    else:
        file_format, rows = "csv", _csv_rows(data)
    rows = [[cell_text(value) for value in row] for row in rows]
    _refuse_formulas(rows)
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise BadFile("The file has no rows.")
    width = max(len(row) for row in rows)
    if width > MAX_COLUMNS:
        raise BadFile(
            f"The file has {width:,} columns; at most {MAX_COLUMNS} can be read. Keep the "
            "columns of emails, names and tags, then upload it again."
        )
    rows = [row + [""] * (width - len(row)) for row in rows]
    first = rows[0]
    if any(looks_like_email(cell) for cell in first):
        headers, first_number = [f"Column {column_letter(i)}" for i in range(width)], 1
    else:
        headers, first_number, rows = first, 2, rows[1:]
    if not rows:
        raise BadFile("The file has a header row and no rows of contacts below it.")
    if len(rows) > MAX_ROWS:
        raise BadFile(
            f"The file has {len(rows):,} rows; at most {MAX_ROWS:,} can be imported at once. "
            "Split it into smaller files."
        )
    return Sheet(format=file_format, headers=headers, rows=rows, first_number=first_number)


def looks_like_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain and " " not in text)


def _xlsx_rows(data: bytes) -> list[list]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
            if not sheets:
                raise BadFile("This is not an XLSX or CSV file.")
            for name in sheets:
                if _has_formula(archive, name):
                    raise BadFile(
                        "A cell of the workbook holds a formula. Paste the cells as values "
                        "(or save the sheet as CSV), then upload it again."
                    )
        dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx", headers=False)
    except BadFile:
        raise
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise BadFile("This XLSX file cannot be read: it may be damaged.") from None
    return list(dataset)


def _has_formula(archive: zipfile.ZipFile, name: str) -> bool:
    tail = b""
    with archive.open(name) as sheet:
        while block := sheet.read(1 << 20):
            if XLSX_FORMULA.search(tail + block):
                return True
            tail = block[-16:]
    return False


def _csv_rows(data: bytes) -> list[list]:
    try:
        if data.startswith(UTF16_BOMS):
            text = data.decode("utf-16")
        elif b"\x00" in data[:8192]:
            raise BadFile("This is not a CSV or XLSX file.")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadFile(
            f"The file is not UTF-8 text (line {line} is not). In your spreadsheet, save it "
            "as “CSV UTF-8”, then upload it again."
        ) from None
    if "\x00" in text:
        raise BadFile("This is not a CSV or XLSX file.")
    delimiter = _delimiter(text)
    try:
        dataset = tablib.Dataset().load(text, format="csv", headers=False, delimiter=delimiter)
    except tablib.InvalidDimensions:
        raise BadFile(_ragged_row(text, delimiter)) from None
    except csv.Error as error:
        raise BadFile(f"The file is not readable CSV: {error}.") from None
    return list(dataset)


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _ragged_row(text: str, delimiter: str) -> str:
    """Which row has more cells than the first one, once tablib refused the file for it."""
    width = None
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        if width is None:
            width = len(row)
        elif len(row) > width:
            return (
                f"Row {number} has {len(row)} cells where the first row has {width}. "
                "Check its commas and quotes, then upload the file again."
            )
    return "The rows of the file do not have the same number of cells."


def _refuse_formulas(rows: list[list[str]]) -> None:
    for number, row in enumerate(rows, 1):
        for index, cell in enumerate(row):
            if cell[:1] in "=+-@" and FORMULA.match(cell):
                raise BadFile(
                    f"Cell {column_letter(index)}{number} holds a formula ({cell[:40]}). "
                    "Remove formulas from the file, then upload it again."
                )
