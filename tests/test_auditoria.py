import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from anulaciones import transitions as T
from anulaciones.models import RegistroAuditoria
from anulaciones.models.auditoria import AuditoriaInmutable

pytestmark = pytest.mark.django_db


def test_auditoria_no_se_modifica_ni_se_borra_por_la_aplicacion(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="x")
    fila = RegistroAuditoria.de_objeto(s).last()
    fila.nota = "reescrita"
    with pytest.raises(AuditoriaInmutable):
        fila.save()
    with pytest.raises(AuditoriaInmutable):
        fila.delete()
    with pytest.raises(AuditoriaInmutable):
        RegistroAuditoria.objects.filter(pk=fila.pk).update(nota="x")
    with pytest.raises(AuditoriaInmutable):
        RegistroAuditoria.objects.all().delete()
    fila.refresh_from_db()
    assert fila.nota == "" and RegistroAuditoria.objects.count() == 3


def test_auditoria_en_postgresql_tambien_la_protege_la_base(u, nueva_solicitud):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    s = nueva_solicitud()
    with pytest.raises(DatabaseError, match="solo inserción"), transaction.atomic():
        with connection.cursor() as c:
            c.execute("UPDATE anulaciones_registroauditoria SET nota = 'x'")
    with pytest.raises(DatabaseError, match="solo inserción"), transaction.atomic():
        with connection.cursor() as c:
            c.execute("DELETE FROM anulaciones_registroauditoria")
    assert RegistroAuditoria.de_objeto(s).count() == 1


def test_fila_de_auditoria_completa(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(
        s,
        "anular",
        u.gestion_red,
        motivo="Duplicada",
        nota="Cliente llamó",
        justificacion="Solicitud duplicada: no hace falta llamar",
    )
    fila = RegistroAuditoria.de_objeto(s).last()
    assert (fila.objeto, fila.transicion, fila.paso, fila.estado_origen, fila.estado_destino) == (
        str(s),
        "anular",
        "5.2",
        "registrada",
        "anulada",
    )
    assert (fila.usuario, fila.rol, fila.nota, fila.caso_id) == (
        u.gestion_red,
        "GESTION_RED",
        "Cliente llamó",
        s.caso_id,
    )
    assert fila.creado_at is not None
