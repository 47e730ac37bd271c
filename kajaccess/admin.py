from django.contrib import admin

from .models import Site, SiteMembership
from .sign_in import AdminSignInForm

admin.site.login_form = AdminSignInForm


class MembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
