"""Every `/contacts/...` page: the tab, a contact's panel and profile, and changing their access."""

from django.urls import path

from contacts import editing, views
from contacts.imports import views as imports
from purchases import views as access_views

app_name = "contacts"

CONTACT = "<int:contact_id>/"
GRANT = CONTACT + "grants/<int:grant_id>/"
GRANT_PRODUCT = GRANT + "products/<int:product_id>/"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("add/", editing.add_contact, name="add"),
    path("import/", imports.upload, name="import"),
    path("import/<int:import_id>/", imports.detail, name="import_detail"),
    path("import/<int:import_id>/start/", imports.start, name="import_start"),
    path(
        "import/<int:import_id>/rows-not-imported.csv",
        imports.invalid_rows,
        name="import_invalid_rows",
    ),
    path(f"{CONTACT}edit/", editing.edit_contact, name="edit"),
    path(CONTACT, views.profile, name="profile"),
    path(f"{CONTACT}preview/", views.preview, name="preview"),
    path(f"{CONTACT}products/", views.products, name="products"),
    path(f"{CONTACT}products/<int:product_id>/", views.more_info, name="more_info"),
    path(f"{CONTACT}purchases/", views.purchases, name="purchases"),
    path(f"{CONTACT}activity/", views.activity, name="activity"),
    path(f"{CONTACT}grant-offer/choose/", access_views.grant_offer_form, name="grant_offer_form"),
    path(f"{CONTACT}grant-offer/", access_views.grant_offer, name="grant_offer"),
    path(
        f"{GRANT}access-dates/edit/",
        access_views.edit_access_dates_form,
        name="edit_access_dates_form",
    ),
    path(f"{GRANT}access-dates/", access_views.edit_access_dates, name="edit_access_dates"),
]

for verb in ("revoke", "restore"):
    urlpatterns += [
        path(
            f"{GRANT}{verb}/confirm/",
            access_views.confirm_access_change,
            {"verb": verb},
            name=f"{verb}_confirm",
        ),
        path(f"{GRANT}{verb}/", access_views.change_access, {"verb": verb}, name=verb),
        path(
            f"{GRANT_PRODUCT}{verb}/confirm/",
            access_views.confirm_access_change,
            {"verb": verb},
            name=f"{verb}_product_confirm",
        ),
        path(
            f"{GRANT_PRODUCT}{verb}/",
            access_views.change_access,
            {"verb": verb},
            name=f"{verb}_product",
        ),
    ]
