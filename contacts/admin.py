from django.contrib import admin

from contacts.models import Contact, Tag
from kajaccess.admin import SiteKeysReadOnly
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


@admin.register(Tag)
class TagAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["name", "site"]
    list_filter = ["site"]
    search_fields = ["name"]
