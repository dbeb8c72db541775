"""Risk of observation or cancellation at entry (issue 19): the history's aggregates
(``FactorRiesgo``, rewritten by ``anulaciones.riesgo.recalcular_factores``) and, on the Solicitud,
the street's key as registered (``clave_calle``) and the score stored at registration (``riesgo``,
``riesgo_banda``, ``riesgo_motivos``, ``riesgo_sugerencias``, ``riesgo_aceptado``).

Online on PostgreSQL: a new table, nullable columns and columns with a database default (no
rewrite; the old release keeps inserting rows without them), and three indexes built
CONCURRENTLY (hence not atomic). Existing rows have no score (``riesgo_banda`` '') and an empty
street key, which the first recompute (the nightly task, or ``recalcular_factores()``) fills in
batches before it counts them.
"""

from importlib import import_module

from django.db import migrations, models

# SQLite rebuilds a table to add a NOT NULL column: the zone triggers of 0009 go first and come
# back right after (as in 0010, 0014 and 0017).
_zona = import_module("anulaciones.migrations.0009_si_zona")
_SIN_TRIGGERS = migrations.RunPython(_zona._ejecutar({"sqlite": _zona.SQLITE_BORRAR}),
                                     _zona._ejecutar({"sqlite": _zona.SQLITE}))
_CON_TRIGGERS = migrations.RunPython(_zona._ejecutar({"sqlite": _zona.SQLITE}),
                                     _zona._ejecutar({"sqlite": _zona.SQLITE_BORRAR}))

INDICES = [
    (models.Index(fields=["riesgo_banda", "creado_at"], name="anul_sol_riesgo_banda"), "(riesgo_banda, creado_at)"),
    (models.Index(fields=["-riesgo", "creado_at"], name="anul_sol_riesgo_cola"), "(riesgo DESC, creado_at)"),
    (models.Index(fields=["clave_calle"], name="anul_sol_clave_calle"), "(clave_calle)"),
]


def _indices(crear):
    def correr(apps, schema_editor):
        concurrente = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
        for indice, columnas in INDICES:
            if crear:
                schema_editor.execute(f"CREATE INDEX {concurrente}IF NOT EXISTS {indice.name} "
                                      f"ON anulaciones_solicitud {columnas}")
            else:
                schema_editor.execute(f"DROP INDEX {concurrente}IF EXISTS {indice.name}")
    return correr


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("anulaciones", "0017_calendario_laboral"),
    ]

    operations = [
        migrations.CreateModel(
            name="FactorRiesgo",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("factor", models.CharField(choices=[("base", "Total (tasa base)"), ("calle", "Calle"), ("caja", "Caja / NAP"), ("zona", "Zona"), ("asesor", "Asesor"), ("plan", "Plan"), ("tipo", "Tipo de solicitud")], max_length=10)),
                ("clave", models.CharField(blank=True, max_length=200)),
                ("etiqueta", models.CharField(blank=True, db_default="", default="", max_length=200)),
                ("total", models.PositiveIntegerField(verbose_name="solicitudes")),
                ("problemas", models.PositiveIntegerField(verbose_name="observadas o anuladas")),
                ("calculado_at", models.DateTimeField(verbose_name="calculado")),
            ],
            options={
                "verbose_name": "factor de riesgo",
                "verbose_name_plural": "factores de riesgo",
                "ordering": ["factor", "clave"],
            },
        ),
        migrations.AddConstraint(
            model_name="factorriesgo",
            constraint=models.UniqueConstraint(fields=("factor", "clave"), name="anul_factor_riesgo_clave"),
        ),
        _SIN_TRIGGERS,
        migrations.AddField(
            model_name="solicitud",
            name="clave_calle",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=200, verbose_name="clave de la calle"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="riesgo",
            field=models.FloatField(blank=True, editable=False, null=True, verbose_name="riesgo"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="riesgo_aceptado",
            field=models.BooleanField(db_default=False, default=False, verbose_name="riesgo alto aceptado"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="riesgo_banda",
            field=models.CharField(blank=True, choices=[("bajo", "Bajo"), ("medio", "Medio"), ("alto", "Alto")], db_default="", default="", editable=False, max_length=5, verbose_name="nivel de riesgo"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="riesgo_motivos",
            field=models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, editable=False, verbose_name="motivos del riesgo"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="riesgo_sugerencias",
            field=models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, editable=False, verbose_name="sugerencias para bajar el riesgo"),
        ),
        _CON_TRIGGERS,
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="solicitud", index=indice) for indice, _ in INDICES],
            database_operations=[migrations.RunPython(_indices(True), _indices(False))],
        ),
    ]
