"""The working calendar of the clocks (issue 17): calendars of working hours (``CalendarioLaboral``,
one per zone if needed), holidays of every calendar or of one, and on the clocks what they are
recomputed and explained from (``ServicioIngenieria.aviso_at``, ``vence_explicacion``;
``Solicitud.redigitacion_desde``, ``redigitacion_explicacion``).

Online on PostgreSQL: new tables, nullable columns and columns with a database default (no
rewrite), two set-based UPDATEs limited to the open SIs and the pending re-digitations, and the
warning sweep's partial index built CONCURRENTLY (hence not atomic). The old release keeps
working meanwhile: what it writes without the new columns is read as before (an SI without
``aviso_at`` is warned from its ``vence_at``).

Existing rows: an open SI's warning falls due ANULACIONES_AVISO_MINUTOS before its deadline (the
old rule), and a pending re-digitation's clock started when the audit log says it was cancelled
for re-digitation. ``manage.py recalcular_plazos`` afterwards puts every pending deadline on the
new rules, with their explanations (docs/relojes.md).
"""

from datetime import timedelta
from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

# SQLite rebuilds a table to add a NOT NULL column: the zone triggers of 0009 go first and come
# back right after (as in 0010 and 0014).
_zona = import_module("anulaciones.migrations.0009_si_zona")
_SIN_TRIGGERS = migrations.RunPython(_zona._ejecutar({"sqlite": _zona.SQLITE_BORRAR}),
                                     _zona._ejecutar({"sqlite": _zona.SQLITE}))
_CON_TRIGGERS = migrations.RunPython(_zona._ejecutar({"sqlite": _zona.SQLITE}),
                                     _zona._ejecutar({"sqlite": _zona.SQLITE_BORRAR}))

AVISO = models.Index(condition=models.Q(("aviso_enviado_at__isnull", True)), fields=["estado", "aviso_at"],
                     name="anul_si_aviso_pendiente")


def rellenar(apps, schema_editor):
    Servicio = apps.get_model("anulaciones", "ServicioIngenieria")
    Solicitud = apps.get_model("anulaciones", "Solicitud")
    Registro = apps.get_model("anulaciones", "RegistroAuditoria")
    Servicio.objects.filter(estado="abierto", aviso_at__isnull=True).update(
        aviso_at=F("vence_at") - timedelta(minutes=settings.ANULACIONES_AVISO_MINUTOS))
    anulada = Registro.objects.filter(
        content_type__app_label="anulaciones", content_type__model="solicitud", object_id=OuterRef("pk"),
        transicion="anular_para_redigitacion").order_by("-creado_at").values("creado_at")[:1]
    Solicitud.objects.filter(estado="pendiente_redigitacion", redigitacion_desde__isnull=True).update(
        redigitacion_desde=Subquery(anulada))


def _indice(sql):
    def correr(apps, schema_editor):
        concurrente = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
        schema_editor.execute(sql.format(concurrente=concurrente))
    return correr


CREAR_AVISO = _indice("CREATE INDEX {concurrente}IF NOT EXISTS anul_si_aviso_pendiente "
                      "ON anulaciones_servicioingenieria (estado, aviso_at) WHERE aviso_enviado_at IS NULL")
BORRAR_AVISO = _indice("DROP INDEX {concurrente}IF EXISTS anul_si_aviso_pendiente")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("anulaciones", "0016_ejecucion_periodica"),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarioLaboral",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("nombre", models.CharField(max_length=80, unique=True)),
                ("horario", models.TextField(help_text="Horas hábiles por día de la semana, en hora local: grupos separados por «;», cada uno con los días (un rango «lun-vie» o una lista «lun,mie») y uno o más tramos «HH:MM-HH:MM» («24:00» es el fin del día). Los días que no se nombran no son hábiles. Ejemplo: «lun-vie 08:00-13:00 14:00-20:00; sab 08:00-13:00».")),
                ("predeterminado", models.BooleanField(default=False, help_text="Rige en las zonas sin calendario propio, en lugar del horario de la configuración (ANULACIONES_HORARIO). Solo un calendario puede ser el predeterminado.")),
            ],
            options={
                "verbose_name": "calendario laboral",
                "verbose_name_plural": "calendarios laborales",
                "ordering": ["nombre"],
            },
        ),
        migrations.AddConstraint(
            model_name="calendariolaboral",
            constraint=models.UniqueConstraint(condition=models.Q(("predeterminado", True)), fields=("predeterminado",), name="anul_calendario_predeterminado", violation_error_message="Ya hay un calendario predeterminado: quítele la marca antes."),
        ),
        migrations.AddField(
            model_name="zona",
            name="calendario",
            field=models.ForeignKey(blank=True, help_text="El horario de los plazos de la zona. Vacío: el calendario predeterminado.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="zonas", to="anulaciones.calendariolaboral", verbose_name="calendario laboral"),
        ),
        migrations.AlterField(
            model_name="feriado",
            name="fecha",
            field=models.DateField(),
        ),
        migrations.AddField(
            model_name="feriado",
            name="calendario",
            field=models.ForeignKey(blank=True, help_text="Vacío: feriado de todos los calendarios.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="feriados", to="anulaciones.calendariolaboral", verbose_name="calendario laboral"),
        ),
        migrations.AddConstraint(
            model_name="feriado",
            constraint=models.UniqueConstraint(condition=models.Q(("calendario__isnull", False)), fields=("fecha", "calendario"), name="anul_feriado_fecha_calendario", violation_error_message="Ese calendario ya tiene un feriado en esa fecha."),
        ),
        migrations.AddConstraint(
            model_name="feriado",
            constraint=models.UniqueConstraint(condition=models.Q(("calendario__isnull", True)), fields=("fecha",), name="anul_feriado_fecha_general", violation_error_message="Ya hay un feriado de todos los calendarios en esa fecha."),
        ),
        _SIN_TRIGGERS,
        migrations.AddField(
            model_name="servicioingenieria",
            name="aviso_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="aviso de vencimiento"),
        ),
        migrations.AddField(
            model_name="servicioingenieria",
            name="vence_explicacion",
            field=models.CharField(blank=True, db_default="", default="", max_length=400, verbose_name="por qué vence entonces"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="redigitacion_desde",
            field=models.DateTimeField(blank=True, null=True, verbose_name="re-digitación desde"),
        ),
        migrations.AddField(
            model_name="solicitud",
            name="redigitacion_explicacion",
            field=models.CharField(blank=True, db_default="", default="", max_length=400, verbose_name="por qué vence entonces la re-digitación"),
        ),
        _CON_TRIGGERS,
        migrations.RunPython(rellenar, migrations.RunPython.noop, elidable=True),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="servicioingenieria", index=AVISO)],
            database_operations=[migrations.RunPython(CREAR_AVISO, BORRAR_AVISO)],
        ),
    ]
