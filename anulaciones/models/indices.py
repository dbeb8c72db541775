"""Indexes only PostgreSQL has (pg_trgm trigram indexes), declared in the models like any other.

Declared in ``Meta.indexes`` rather than written as raw SQL in a migration, so the model state
knows them: ``makemigrations`` sees a change to them, and a schema change that rebuilds the
table keeps them. On another database (SQLite, the embedded run) they have no SQL at all and
the queries they serve run as a plain LIKE over the column.
"""

from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass, PostgresIndex
from django.db.models import TextField
from django.db.models.functions import Cast, Upper

# What a schema change runs instead of the index's SQL on another database: a comment, which
# SQLite accepts as a statement that does nothing and `sqlmigrate` prints as the reason.
_SIN_SQL = "-- {nombre}: PostgreSQL-only index, not created on {vendor}"


class _SoloPostgres(PostgresIndex):
    # PostgreSQL's identifier limit (NAMEDATALEN - 1); Django's default 30 is Oracle's, a
    # database these indexes never reach. The names are those the raw SQL of 0005, 0006 and 0014
    # gave them, kept so existing databases need no change.
    max_name_length = 63

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return _SIN_SQL.format(nombre=self.name, vendor=schema_editor.connection.vendor)
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model, schema_editor, **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return _SIN_SQL.format(nombre=self.name, vendor=schema_editor.connection.vendor)
        return super().remove_sql(model, schema_editor, **kwargs)


class GinSoloPostgres(_SoloPostgres, GinIndex):
    """A GIN index on PostgreSQL, nothing elsewhere."""


class GistSoloPostgres(_SoloPostgres, GistIndex):
    """A GiST index on PostgreSQL, nothing elsewhere."""


def trigramas_icontains(campo, nombre):
    """Serves ``campo__icontains``, which PostgreSQL runs as ``UPPER(campo::text) LIKE
    UPPER('%…%')``: a trigram GIN index on that same expression."""
    return GinSoloPostgres(OpClass(Upper(Cast(campo, output_field=TextField())), name="gin_trgm_ops"), name=nombre)


def trigramas(campo, nombre):
    """Serves ``campo__contains`` (LIKE '%…%') on an already normalized column."""
    return GinSoloPostgres(fields=[campo], opclasses=["gin_trgm_ops"], name=nombre)


def trigramas_cercania(campo, nombre):
    """Serves ``ORDER BY campo <-> 'typed'`` (the nearest names by trigram distance), which
    only a GiST index can read in order."""
    return GistSoloPostgres(fields=[campo], opclasses=["gist_trgm_ops"], name=nombre)
