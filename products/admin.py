from django.contrib import admin

from kajaccess.admin import SiteKeysReadOnly, SiteKeysReadOnlyInline
from products.models import Lesson, Offer, Product


class LessonInline(SiteKeysReadOnlyInline, admin.TabularInline):
    model = Lesson
    extra = 0


@admin.register(Product)
class ProductAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["title", "kind", "site"]
    list_filter = ["site", "kind"]
    search_fields = ["title"]
    inlines = [LessonInline]


@admin.register(Offer)
class OfferAdmin(SiteKeysReadOnly, admin.ModelAdmin):
    list_display = ["title", "site", "payment_type", "price", "access_days", "deleted_at"]
    list_filter = ["site", "payment_type"]
    search_fields = ["title"]
    # Products of an Offer change through the Offers tab, whose services give or take
    # access from existing customers; a plain many-to-many edit here would not.
    readonly_fields = ["product_list", "created_at", "deleted_at"]
    exclude = ["products"]

    @admin.display(description="Products")
    def product_list(self, obj):
        return ", ".join(p.title for p in obj.products.all()) or "—"
