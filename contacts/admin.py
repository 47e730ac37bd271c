from django.contrib import admin
from django.db import transaction

from contacts.models import Contact, Tag
from contacts.services import contacts_recount
from kajaccess.admin import SiteKeysReadOnly
from kajaccess.models import Site
from purchases.access.facts import forget_access_facts
from purchases.admin import GrantInline


@admin.register(Contact)
class ContactAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["email", "name", "site", "created_at", "test_card_declines"]
    list_filter = ["site", "test_card_declines"]
    search_fields = ["name", "email"]
    list_select_related = ["site"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
    inlines = [GrantInline]
    list_per_page = 50
    show_full_result_count = False

    # A deleted contact's grants go with it: its holders leave the Products' and Offers'
    # counters in the same transaction, and its site's total is counted again.
    def delete_model(self, request, obj):
        with transaction.atomic():
            forget_access_facts(contact_ids=[obj.pk])
            super().delete_model(request, obj)
            contacts_recount(site=obj.site)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            sites = list(Site.objects.filter(contacts__in=queryset).distinct())
            forget_access_facts(contact_ids=list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)
            for site in sites:
                contacts_recount(site=site)


@admin.register(Tag)
class TagAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["name", "site"]
    list_filter = ["site"]
    search_fields = ["name"]
