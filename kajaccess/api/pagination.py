"""Cursor pagination on every list: `?cursor=` and a `next` link, stable under inserts."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    # Ordered by id, which never changes and is unique: rows added while an integration
    # pages through land after the cursor or before it, never twice and never skipped.
    ordering = "pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = "This cursor is not one the API gave: start again without it."
