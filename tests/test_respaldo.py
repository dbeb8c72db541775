"""Backups that restore (issue 20, item 5): `manage.py respaldo crear` on a database with cases
in several states, `respaldo restaurar` into a database just created on the same server, and the
indicator, the row counts of the main tables and the last audit row equal on both. PostgreSQL
only (pg_dump/pg_restore); CI runs it (DATABASE_URL=postgres://...)."""

import json
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from psycopg import sql

from anulaciones.management.commands import respaldo
from anulaciones.models import RegistroAuditoria
from anulaciones.reports import indicador as ind

# Committed rows: pg_dump runs in another session and sees only what is committed.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): pg_dump and pg_restore")


def _servidor():
    return respaldo.conectar(connection.settings_dict, "postgres")


@pytest.fixture
def bd_vacia():
    """A database just created on the test server (from template1: empty), dropped at the end."""
    nombre = f"{connection.settings_dict['NAME']}_restaurada"
    ident = sql.Identifier(nombre)
    with _servidor() as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        c.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    yield nombre
    connections["default"].close()
    with _servidor() as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


@contextmanager
def en_bd(nombre):
    """The default connection pointed at another database of the same server, for the
    application's own code (the indicator) to read it."""
    conexion = connections["default"]
    original = conexion.settings_dict["NAME"]
    conexion.close()
    conexion.settings_dict["NAME"] = nombre
    try:
        yield
    finally:
        conexion.close()
        conexion.settings_dict["NAME"] = original


def _lectura():
    return {
        "informe": ind.informe(ind.Periodo.actual()),
        "filas": respaldo.conteos(),
        "ultima_auditoria": RegistroAuditoria.objects.order_by("-pk").values().first(),
        "archivo": storages["default"].open("respaldo/prueba.txt").read(),
    }


def test_un_respaldo_restaurado_en_una_base_vacia_da_el_mismo_indicador(esc, tmp_path, bd_vacia):
    for estado in ("registrada", "observada", "en_correccion", "instalada", "anulada", "pendiente_redigitacion"):
        esc.solicitud(estado)
    esc.solicitud("anulada")
    esc.solicitud("redigitada")
    esc.orden("anulada")
    esc.servicio("vencido")
    esc.zonificacion("remitida")
    storages["default"].save("respaldo/prueba.txt", ContentFile(b"libro de prueba"))
    antes = _lectura()
    total = antes["informe"]["total"]
    assert total["probables"] >= 5 and total["anulados"] >= 4 and total["abiertos"] >= 1, total
    assert antes["filas"]["anulaciones.RegistroAuditoria"] > 20

    salida = StringIO()
    call_command("respaldo", "crear", "--directorio", str(tmp_path), stdout=salida)
    manifiesto = salida.getvalue().strip()
    datos = json.loads(open(manifiesto).read())
    assert datos["filas"] == antes["filas"]
    assert datos["migraciones"] == respaldo.cabeza_migraciones()
    assert datos["indicador"]["total"]["probables"] == total["probables"]

    destino = respaldo.url_de({**connection.settings_dict, "NAME": bd_vacia})
    salida = StringIO()
    # The command verifies the restored database itself (a child process reads it).
    call_command("respaldo", "restaurar", manifiesto, "--destino", destino, stdout=salida)
    assert "Verificado" in salida.getvalue(), salida.getvalue()

    with en_bd(bd_vacia):
        despues = _lectura()
    assert despues["informe"] == antes["informe"]
    assert despues["filas"] == antes["filas"]
    assert despues["ultima_auditoria"] == antes["ultima_auditoria"]
    assert despues["archivo"] == antes["archivo"] == b"libro de prueba"

    # Never over data: the same restore again is refused, the database left as it was.
    with pytest.raises(CommandError, match="no está vacía"):
        call_command("respaldo", "restaurar", manifiesto, "--destino", destino, stdout=StringIO())
    with en_bd(bd_vacia):
        assert respaldo.conteos() == antes["filas"]


def test_un_volcado_cambiado_no_se_restaura(esc, tmp_path, bd_vacia):
    esc.solicitud("anulada")
    salida = StringIO()
    call_command("respaldo", "crear", "--directorio", str(tmp_path), stdout=salida)
    manifiesto = salida.getvalue().strip()
    volcado = tmp_path / json.loads(open(manifiesto).read())["volcado"]["archivo"]
    volcado.write_bytes(volcado.read_bytes() + b"\0")
    destino = respaldo.url_de({**connection.settings_dict, "NAME": bd_vacia})
    with pytest.raises(CommandError, match="SHA-256"):
        call_command("respaldo", "restaurar", manifiesto, "--destino", destino, stdout=StringIO())
