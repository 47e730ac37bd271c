"""Rules for what a creator types that every app shares, on models and on forms alike."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# Control characters (tab, line feed, carriage return, NUL, escape, ...) and the Unicode
# line and paragraph separators: each breaks a title in a list, a CSV cell or an email
# subject, where a title must stay one line.
NOT_ONE_LINE = {"Cc", "Zl", "Zp"}


@deconstructible
class SingleLineValidator:
    """One line of text: no line breaks, tabs or other control characters."""

    message = "Keep it to one line, without line breaks, tabs or other control characters."
    code = "single_line"

    def __call__(self, value) -> None:
        if any(unicodedata.category(char) in NOT_ONE_LINE for char in str(value)):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, SingleLineValidator)


single_line = SingleLineValidator()
