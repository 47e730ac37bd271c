"""`field__any=ids`: a list of ids (or texts) matched as one array on PostgreSQL, `= ANY(%s)`.

A chunk of a bulk action filters a dozen times by hundreds of ids. Written as IN, each
query is a new text of a thousand placeholders, which psycopg parses anew (it caches only
short ones) and Django prepares value by value: a fifth of a chunk's time, in Python. As
one array the text is the same for every chunk. Elsewhere it is a plain IN. A text column
(or expression, as a lowercased email) takes texts, as one array of text. Django has no
such lookup, and the one library that adds array lookups does so for array columns only.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Field, ForeignObject, Lookup, TextField


# On Field, and on ForeignObject, whose lookups are its own (`contact_id__any`).
@ForeignObject.register_lookup
@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    @property
    def _of_text(self) -> bool:
        return isinstance(self.lhs.output_field, CharField | TextField)

    def get_prep_lookup(self):
        # Ids (or texts) only: anything else is refused here, as it would be by the
        # column. A query arrives compiled, not as its ids: the message says what takes it.
        if hasattr(self.rhs, "resolve_expression"):
            raise TypeError("field__any takes ids; for a query, use field__in.")
        return sorted({(str if self._of_text else int)(value) for value in self.rhs})

    def _lhs(self, compiler, connection):
        # No ids match no row: the query is empty, as with field__in=[].
        if not self.rhs:
            raise EmptyResultSet
        return self.process_lhs(compiler, connection)

    def as_sql(self, compiler, connection):
        lhs, params = self._lhs(compiler, connection)
        marks = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({marks})", (*params, *self.rhs)

    def as_postgresql(self, compiler, connection):
        lhs, params = self._lhs(compiler, connection)
        array = "text[]" if self._of_text else "bigint[]"
        return f"{lhs} = ANY(%s::{array})", (*params, self.rhs)
