"""The SI's zone: a copy of its Solicitud's zone, kept by the database.

The Tablero filtered by zone used to join every open SI to the Solicitudes of the zone, so its
COUNT grew with the open SIs of the whole company (1,000,000 Solicitudes, 100,000 open SIs:
11–23 ms). With the zone on the SI and a partial index ``(zona, vence_at, id)`` of the open
ones, the COUNT and the first page read only that zone's open SIs (bench/, issue 8).

Triggers keep the copy right whatever writes the rows (a transition, the import's bulk update,
SQL): an SI takes its Solicitud's zone when inserted or when a save writes its zone column, and
a Solicitud whose zone changes passes it to its SIs.

On SQLite, a later migration that rebuilds either table (SQLite alters a table by copying it)
drops these triggers: such a migration must create them again (tests/test_si_zona.py fails on
SQLite otherwise).
"""
import django.db.models.deletion
from django.db import migrations, models

RELLENAR = """UPDATE anulaciones_servicioingenieria SET zona_id = (
    SELECT s.zona_id FROM anulaciones_solicitud s WHERE s.id = anulaciones_servicioingenieria.solicitud_id)"""

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION anulaciones_si_zona() RETURNS trigger AS $$
BEGIN
  NEW.zona_id := (SELECT s.zona_id FROM anulaciones_solicitud s WHERE s.id = NEW.solicitud_id);
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER anulaciones_si_zona BEFORE INSERT OR UPDATE OF zona_id, solicitud_id
ON anulaciones_servicioingenieria FOR EACH ROW EXECUTE FUNCTION anulaciones_si_zona()""",
    """CREATE OR REPLACE FUNCTION anulaciones_solicitud_zona() RETURNS trigger AS $$
BEGIN
  UPDATE anulaciones_servicioingenieria SET zona_id = NEW.zona_id WHERE solicitud_id = NEW.id;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER anulaciones_solicitud_zona AFTER UPDATE OF zona_id ON anulaciones_solicitud
FOR EACH ROW WHEN (OLD.zona_id IS DISTINCT FROM NEW.zona_id) EXECUTE FUNCTION anulaciones_solicitud_zona()""",
]
POSTGRESQL_BORRAR = [
    "DROP TRIGGER IF EXISTS anulaciones_solicitud_zona ON anulaciones_solicitud",
    "DROP FUNCTION IF EXISTS anulaciones_solicitud_zona()",
    "DROP TRIGGER IF EXISTS anulaciones_si_zona ON anulaciones_servicioingenieria",
    "DROP FUNCTION IF EXISTS anulaciones_si_zona()",
]
_DE_SU_SOLICITUD = "(SELECT s.zona_id FROM anulaciones_solicitud s WHERE s.id = NEW.solicitud_id)"
SQLITE = [
    f"""CREATE TRIGGER anulaciones_si_zona AFTER INSERT ON anulaciones_servicioingenieria
BEGIN UPDATE anulaciones_servicioingenieria SET zona_id = {_DE_SU_SOLICITUD} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER anulaciones_si_zona_guardada AFTER UPDATE OF zona_id, solicitud_id
ON anulaciones_servicioingenieria WHEN NEW.zona_id IS NOT {_DE_SU_SOLICITUD}
BEGIN UPDATE anulaciones_servicioingenieria SET zona_id = {_DE_SU_SOLICITUD} WHERE id = NEW.id; END""",
    """CREATE TRIGGER anulaciones_solicitud_zona AFTER UPDATE OF zona_id ON anulaciones_solicitud
WHEN OLD.zona_id IS NOT NEW.zona_id
BEGIN UPDATE anulaciones_servicioingenieria SET zona_id = NEW.zona_id WHERE solicitud_id = NEW.id; END""",
]
SQLITE_BORRAR = ["DROP TRIGGER IF EXISTS anulaciones_solicitud_zona", "DROP TRIGGER IF EXISTS anulaciones_si_zona_guardada",
                 "DROP TRIGGER IF EXISTS anulaciones_si_zona"]


def _ejecutar(sentencias):
    def correr(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in sentencias.get(vendor, ()):
            schema_editor.execute(sql)
    return correr


class Migration(migrations.Migration):

    dependencies = [
        ("anulaciones", "0008_indice_si_abiertos"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicioingenieria",
            name="zona",
            field=models.ForeignKey(db_index=False, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="anulaciones.zona"),
        ),
        migrations.RunSQL(RELLENAR, migrations.RunSQL.noop),
        migrations.RunPython(_ejecutar({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
                             _ejecutar({"postgresql": POSTGRESQL_BORRAR, "sqlite": SQLITE_BORRAR})),
        migrations.AddIndex(
            model_name="servicioingenieria",
            index=models.Index(condition=models.Q(("estado__in", ["abierto", "vencido"])),
                               fields=["zona", "vence_at", "id"], name="anul_si_abiertos_zona"),
        ),
    ]
