"""The indexes that 0005, 0006, 0008 and 0014 made with raw SQL, now declared in the models'
``Meta.indexes`` (issue 16): the model state knows every index, so ``makemigrations`` sees a
change to them and a schema change that rebuilds a table keeps them.

Nothing is rebuilt. The trigram indexes (PostgreSQL only, anulaciones/models/indices.py) already
exist on PostgreSQL under these names with these definitions, and exist nowhere else: only the
state changes. The open SIs' partial index of 0008 is plain SQL both databases run; SQLite lost
it where 0010 rebuilt the SI table, so it is created where it is missing.
"""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models.functions import Cast, Upper

import anulaciones.models.indices


def _icontains(campo, nombre):
    return anulaciones.models.indices.GinSoloPostgres(
        OpClass(Upper(Cast(campo, output_field=models.TextField())), name="gin_trgm_ops"), name=nombre)


TRIGRAMAS = [
    ("aliascalle", anulaciones.models.indices.GistSoloPostgres(
        fields=["normalizado"], name="anulaciones_aliascalle_normalizado_trgm", opclasses=["gist_trgm_ops"])),
    ("calle", anulaciones.models.indices.GistSoloPostgres(
        fields=["normalizado"], name="anulaciones_calle_normalizado_trgm", opclasses=["gist_trgm_ops"])),
    ("puntoreferencia", anulaciones.models.indices.GistSoloPostgres(
        fields=["normalizado"], name="anulaciones_puntoreferencia_normalizado_trgm", opclasses=["gist_trgm_ops"])),
    ("ordendetrabajo", _icontains("numero", "anulaciones_ordendetrabajo_numero_trgm")),
    ("solicitud", anulaciones.models.indices.GinSoloPostgres(
        fields=["busqueda"], name="anulaciones_solicitud_busqueda_trgm", opclasses=["gin_trgm_ops"])),
    ("solicitud", _icontains("numero_smartflex", "anulaciones_solicitud_numero_smartflex_trgm")),
    ("solicitud", _icontains("cliente_nombre", "anulaciones_solicitud_cliente_nombre_trgm")),
    ("solicitud", _icontains("calle", "anulaciones_solicitud_calle_trgm")),
]

# 0008's statement, valid on both databases: a no-op where the index is there.
SI_ABIERTOS = """CREATE INDEX IF NOT EXISTS anul_si_abiertos_solicitud
ON anulaciones_servicioingenieria (solicitud_id) WHERE estado IN ('abierto', 'vencido')"""


class Migration(migrations.Migration):

    dependencies = [
        ("anulaciones", "0014_busqueda_normalizada"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name=modelo, index=indice) for modelo, indice in TRIGRAMAS],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="servicioingenieria",
                    index=models.Index(condition=models.Q(("estado__in", ["abierto", "vencido"])), fields=["solicitud"],
                                       name="anul_si_abiertos_solicitud"),
                ),
            ],
            # Backwards it stays: 0008's own backwards step drops it.
            database_operations=[migrations.RunSQL(SI_ABIERTOS, migrations.RunSQL.noop)],
        ),
    ]
