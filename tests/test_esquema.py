"""The database schema is the models' (issue 16): no model change without its migration, every
index declared in the models exists under its name, the PostgreSQL-only ones have no SQL
elsewhere, and the SI's zone has one writer (the database)."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from anulaciones.models import ServicioIngenieria, Solicitud
from anulaciones.models.indices import _SoloPostgres

pytestmark = pytest.mark.django_db


def _indices_declarados():
    for modelo in apps.get_app_config("anulaciones").get_models():
        for indice in modelo._meta.indexes:
            yield modelo, indice


def test_makemigrations_no_encuentra_cambios():
    salida = io.StringIO()
    call_command("makemigrations", check=True, dry_run=True, stdout=salida)  # SystemExit(1) on a change
    assert "No changes detected" in salida.getvalue()


def test_cada_indice_del_modelo_existe_en_la_base_con_su_nombre():
    faltan = []
    with connection.cursor() as cursor:
        for modelo, indice in _indices_declarados():
            if isinstance(indice, _SoloPostgres) and connection.vendor != "postgresql":
                continue
            if indice.name not in connection.introspection.get_constraints(cursor, modelo._meta.db_table):
                faltan.append(indice.name)
    assert faltan == []


def test_los_indices_solo_postgres_no_tienen_sql_en_otra_base():
    """The SQL of creating the Solicitud table as a schema change (or SQLite's rebuild of it)
    runs: USING gin on PostgreSQL, a comment elsewhere."""
    editor = connection.schema_editor(collect_sql=True)  # not entered: SQLite refuses inside the test's transaction
    editor.deferred_sql = []  # what __enter__ would set; the indexes are deferred statements
    editor.create_model(Solicitud)
    sql = "\n".join(map(str, editor.collected_sql + editor.deferred_sql))
    if connection.vendor == "postgresql":
        assert 'USING gin ("busqueda" gin_trgm_ops)' in sql and "gin_trgm_ops" in sql
    else:
        assert "USING" not in sql and "trgm_ops" not in sql
        assert "-- anulaciones_solicitud_busqueda_trgm: PostgreSQL-only index, not created on sqlite" in sql


def test_en_postgresql_el_sql_del_modelo_es_el_indice_que_hay():
    """The indexes 0005/0006/0008/0014 made with raw SQL and 0015 only declared: Django's SQL for
    each builds exactly the index the database has (compared under a scratch name, rolled back
    with the test's transaction)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own index definitions (pg_indexes)")
    distintos = []
    with connection.cursor() as cursor:
        for modelo, indice in _indices_declarados():
            copia = indice.clone()
            copia.name = "zz_prueba_indice"
            with connection.schema_editor() as editor:
                editor.add_index(modelo, copia)
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (%s, %s)", [indice.name, copia.name]
            )
            definiciones = dict(cursor.fetchall())
            with connection.schema_editor() as editor:
                editor.remove_index(modelo, copia)
            if definiciones.get(indice.name) != definiciones[copia.name].replace(copia.name, indice.name):
                distintos.append((indice.name, definiciones.get(indice.name), definiciones[copia.name]))
    assert distintos == []


def test_la_zona_del_si_la_escribe_solo_la_base(esc, u, zonas):
    """Python builds an SI without a zone; the database gives it its Solicitud's."""
    s = esc.solicitud("registrada")
    ctx = type("Ctx", (), {"usuario": u.gestion_red, "ahora": None})()
    si = ServicioIngenieria.para(
        s,
        ctx,
        tipo=ServicioIngenieria.Tipo.values[0],
        destinatario="ASESOR",
        requerido="Mejor referencia",
        vence_at=s.creado_at,
        impedimento=ServicioIngenieria.Impedimento.values[0],
    )
    assert si.zona_id is None
    si.save()
    assert ServicioIngenieria.objects.values_list("zona_id", flat=True).get(pk=si.pk) == s.zona_id == zonas[0].pk
