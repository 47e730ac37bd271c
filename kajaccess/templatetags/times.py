"""Times as machines read them, for `<time datetime="...">`."""

from datetime import UTC, date, datetime

from django import template

register = template.Library()


@register.filter
def machine_time(value) -> str:
    """A valid HTML date or global date and time string: `2026-12-01T10:05:00Z`.

    Django's `date:'c'` keeps microseconds and the offset, which the HTML standard's
    `datetime` attribute refuses; this gives whole seconds in UTC, or the day of a date.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return ""
