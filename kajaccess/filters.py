"""Filter sets for which a filter that does not validate is a refusal, never "no filter"."""

import django_filters
from django.http import QueryDict
from django.utils.http import urlencode


class RefusingFilterSet(django_filters.FilterSet):
    """Matches nothing, rather than everything, while any of its filters does not validate.

    django-filter leaves out a filter whose value does not validate and applies the rest,
    so a link naming a tag deleted since would list every contact. Here it lists none,
    and `refusal` says why.
    """

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return super().qs

    @property
    def refusal(self) -> str:
        """Why the filters cannot be used, in one sentence per filter; empty when they can."""
        if not self.is_bound or self.is_valid():
            return ""
        return " ".join(message for errors in self.errors.values() for message in errors)

    def cleared_query(self) -> str:
        """The same query string without the filters that do not validate, from the first page."""
        data = self.data if isinstance(self.data, QueryDict) else QueryDict(urlencode(self.data))
        query = data.copy()
        for name in [*self.errors, "page"]:
            query.pop(name, None)
        return query.urlencode()
