"""The name of an audited object is declared once (``NOMBRE``, models.auditoria.Nombre): its
``__str__`` and the SQL the set-based path writes into ``objeto`` give the same text, and the
SQL case path gives ``caso_id_auditoria``, for every audited model."""

from datetime import UTC, date, datetime

import pytest
from django.apps import apps

from anulaciones.models import Entrega, OrdenDeTrabajo, ServicioIngenieria
from anulaciones.models.auditoria import Nombre

from .escenarios import entrega_de_prueba

pytestmark = pytest.mark.django_db

# Every model whose objects get audit rows: the machines and the deliveries (born and changed
# through the transition path).
AUDITADOS = [m for m in apps.get_app_config("anulaciones").get_models() if hasattr(m, "TRANSICION_CREACION")]


def test_todo_modelo_auditado_declara_su_nombre():
    assert {m.__name__ for m in AUDITADOS} == {
        "Solicitud",
        "OrdenDeTrabajo",
        "ServicioIngenieria",
        "Zonificacion",
        "Entrega",
    }
    assert all(isinstance(m.__dict__.get("NOMBRE"), Nombre) and m.NOMBRE.modelo is m for m in AUDITADOS)


def _objetos(esc, u):
    """At least one object of every audited model, in every variant its name has."""
    si = esc.servicio("abierto")
    yield si
    for tipo in ServicioIngenieria.Tipo.values:  # each label of the choice
        ServicioIngenieria.objects.filter(pk=si.pk).update(tipo=tipo)
        yield ServicioIngenieria.objects.get(pk=si.pk)
    yield esc.solicitud("registrada")
    o = esc.orden("generada")
    yield o  # «OT-SF-…»: the prefix once
    OrdenDeTrabajo.objects.filter(pk=o.pk).update(numero="260900001")
    yield OrdenDeTrabajo.objects.get(pk=o.pk)  # a bare number: «OT 260900001»
    yield esc.zonificacion("digitada")
    yield entrega_de_prueba(u.gestion_red)
    yield Entrega.objects.create(
        mes=date(2026, 1, 1), numero=7, generada_at=datetime(2026, 1, 31, 12, tzinfo=UTC), generada_por=u.gestion_red
    )


def test_el_texto_en_python_y_en_sql_es_el_mismo(esc, u):
    vistos = set()
    for obj in _objetos(esc, u):
        modelo = type(obj)
        vistos.add(modelo)
        texto, caso = (
            modelo.objects.filter(pk=obj.pk)
            .annotate(t=modelo.NOMBRE.expresion(), c=modelo.NOMBRE.caso_sql())
            .values_list("t", "c")
            .get()
        )
        assert texto == str(obj), (modelo.__name__, texto, str(obj))
        assert caso == obj.caso_id_auditoria
    assert vistos == set(AUDITADOS)
    assert str(OrdenDeTrabajo.objects.get(numero="260900001")) == "OT 260900001"
    assert str(Entrega.objects.get(numero=7)) == "Entrega 7 de 01/2026"
