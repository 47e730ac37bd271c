"""Filter sets for which a filter that does not validate is a refusal, never "no filter"."""

import django_filters
from django.http import QueryDict
from django.utils.http import urlencode

# A stale link names a row deleted since, or a value no list has: said in the filter's words.
ROW_GONE = "The “{label}” filter names {article} {noun} that no longer exists."
NOT_LISTED = "The “{label}” filter is set to something it does not offer. Choose from its list."
ROW_FILTERS = (django_filters.ModelChoiceFilter, django_filters.ModelMultipleChoiceFilter)
LIST_FILTERS = (django_filters.ChoiceFilter, django_filters.MultipleChoiceFilter)


def _stale_value_messages(filter_) -> dict:
    label = str(filter_.label or filter_.field_name)
    if isinstance(filter_, ROW_FILTERS):
        noun = label.lower()
        article = "an" if noun[:1] in "aeiou" else "a"
        message = ROW_GONE.format(label=label, article=article, noun=noun)
    else:
        message = NOT_LISTED.format(label=label)
    return {code: message for code in ("invalid_choice", "invalid_pk_value", "invalid_list")}


class RefusingFilterSet(django_filters.FilterSet):
    """Matches nothing, rather than everything, while any of its filters does not validate.

    django-filter leaves out a filter whose value does not validate and applies the rest,
    so a link naming a tag deleted since would list every contact. Here it lists none,
    and `refusal` says why, once, in the product's words: a filter that gives no message
    of its own for a stale value gets one naming the filter. The filter bar marks the
    filters refused (aria-invalid) and shows no message of its own.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for filter_ in self.filters.values():
            if isinstance(filter_, ROW_FILTERS + LIST_FILTERS):
                own = filter_.extra.get("error_messages", {})
                filter_.extra["error_messages"] = {**_stale_value_messages(filter_), **own}

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.form.errors:
            if name in self.form.fields:
                attrs = self.form.fields[name].widget.attrs
                attrs |= {"aria-invalid": "true", "aria-describedby": "stale-filters"}
        return valid

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
