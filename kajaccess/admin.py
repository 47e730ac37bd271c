"""The Django admin: support staff's view of every site.

A row that belongs to a site keeps it. Once a row exists, none of its keys to a site's
rows (its site, contact, grant, offer, product, subscription, tags) can be edited here,
so nobody moves a Demo Academy contact to Other School by editing a form.
"""

from functools import cache

from django import forms
from django.contrib import admin
from django.db import models
from rest_framework_api_key.models import APIKey

from .models import Site, SiteMembership
from .sign_in import AdminSignInForm

admin.site.login_form = AdminSignInForm


def _reaches_a_site(model, seen: frozenset) -> bool:
    if model is Site:
        return True
    return any(
        _reaches_a_site(field.related_model, seen | {model})
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey) and field.related_model not in seen | {model}
    )


@cache
def belongs_to_a_site(model) -> bool:
    """A Site, or a row whose foreign keys lead to one (a Payment through its grant)."""
    return _reaches_a_site(model, frozenset())


def site_keys(model) -> list[str]:
    """The model's keys, one-to-one, many-to-one and many-to-many, to rows of a site."""
    return [
        field.name
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.ManyToManyField)
        and belongs_to_a_site(field.related_model)
    ]


class _SiteKeysFixed:
    def fixed_keys(self) -> list[str]:
        return site_keys(self.model)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return fields + [name for name in self.fixed_keys() if name not in fields]


class SiteKeysReadOnly(_SiteKeysFixed):
    """A ModelAdmin that shows a row's keys to a site's rows read-only once it exists."""

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, **{"form": _site_kept_form(self.form), **kwargs})


class SiteKeysReadOnlyInline(_SiteKeysFixed):
    """The same for an inline; its key to the row of the page is fixed by the page."""

    def fixed_keys(self) -> list[str]:
        return [
            name
            for name in site_keys(self.model)
            if name != self.fk_name
            and not (
                self.fk_name is None
                and self.model._meta.get_field(name).related_model is self.parent_model
            )
        ]

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, **{"form": _site_kept_form(self.form), **kwargs})


@cache
def _site_kept_form(base: type[forms.ModelForm]) -> type[forms.ModelForm]:
    class SiteKeptForm(base):
        def _get_validation_exclusions(self):
            # A key shown read-only still holds the row's own value, and the site's rules
            # (an email once per site, a tag name once per site) must still be checked
            # against it, or a duplicate would reach the database and fail there.
            return super()._get_validation_exclusions() - set(site_keys(self._meta.model))

    SiteKeptForm.__name__ = base.__name__
    return SiteKeptForm


class MembershipInline(SiteKeysReadOnlyInline, admin.TabularInline):
    model = SiteMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Site)
class SiteAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


# djangorestframework-api-key registers its own APIKey, a model KajAccess never uses: its
# keys are ApiKey, made and revoked by each site in Settings > API keys.
admin.site.unregister(APIKey)
