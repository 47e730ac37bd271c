"""Form fields every screen shares: whatever is typed or sent is a form error, never a 500."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.text import Truncator

from kajaccess.validators import single_line

ID = re.compile(r"[0-9]+")


class SingleLineField(forms.CharField):
    """A title or a name: one line, stripped, without control characters."""

    default_validators = [single_line]


class MultiLineField(forms.CharField):
    """Text from a textarea, whose line breaks count as the browser's `maxlength` counts them.

    A browser sends each line break as CR LF but counts it as one character, so a reason
    that fits the textarea would otherwise be refused for being too long.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n")


def _check_ids(field, values) -> None:
    """Refuse, as a wrong choice, an id that no row can have: the query would overflow."""
    pk = field.queryset.model._meta.pk
    highest = connection.ops.integer_field_range(pk.get_internal_type())[1]
    for value in values:
        if isinstance(value, field.queryset.model):
            continue
        text = str(value).strip()
        if not ID.fullmatch(text) or not 1 <= int(text) <= highest:
            raise ValidationError(
                field.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": Truncator(text).chars(20)},
            )


class DatabaseIdField(forms.ModelChoiceField):
    """One row of the queryset, chosen by its id."""

    def to_python(self, value):
        if value not in self.empty_values and self.to_field_name is None:
            _check_ids(self, [value])
        return super().to_python(value)


class DatabaseIdsField(forms.ModelMultipleChoiceField):
    """Rows of the queryset, chosen by their ids."""

    def _check_values(self, value):
        if self.to_field_name is None:
            _check_ids(self, value)
        return super()._check_values(value)
