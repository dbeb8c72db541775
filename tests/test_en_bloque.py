"""The set-based path (``transitions.aplicar_en_bloque``) takes only the transitions declared
``custom={"en_bloque": True}``, and for each of them ends where the single path ends: the same
fields, the same audit rows — whether it writes the audit rows in SQL (a role that reaches every
row) or from the loaded rows (a role that depends on the row)."""

import ast
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import transitions as T
from anulaciones.errors import ErrorDominio
from anulaciones.models import MAQUINAS, Entrega, RegistroAuditoria, ServicioIngenieria, Zonificacion
from anulaciones.transitions import en_bloque

from .escenarios import entrega_de_prueba

pytestmark = pytest.mark.django_db

INSTANTE = datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("America/La_Paz"))
NOTA = "Hecho en bloque."

# The data each declared transition takes (the same for every row); a new declaration must be
# added here, so that it is held to the single path below.
DATOS = {
    (ServicioIngenieria, "vencer"): lambda u: {},
    (Zonificacion, "remitir"): lambda u: {"entrega": entrega_de_prueba(u.gestion_red)},
}
DECLARADAS = [(m, n) for m in (*MAQUINAS, Entrega) for n, t in T.transiciones(m).items() if t.custom.get("en_bloque")]
IDS = [f"{m.__name__}.{n}" for m, n in DECLARADAS]


def test_cada_transicion_declarada_en_bloque_tiene_sus_datos_de_prueba():
    assert set(DECLARADAS) == set(DATOS)


def _campos(obj):
    obj = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _cambios(antes, despues):
    """What the transition set (the new values; the version as a step)."""
    cambios = {k: despues[k] for k in antes if antes[k] != despues[k]}
    cambios["version"] = despues["version"] - antes["version"]
    return cambios


def _auditoria(obj, nombre):
    obj = type(obj).objects.get(pk=obj.pk)
    return [
        (
            r.objeto == str(obj),
            r.caso_id == obj.caso_id_auditoria,
            r.content_type_id,
            r.transicion,
            r.paso,
            r.estado_origen,
            r.estado_destino,
            r.usuario_id,
            r.rol,
            r.creado_at,
            r.nota,
        )
        for r in RegistroAuditoria.de_objeto(obj).filter(transicion=nombre)
    ]


@pytest.mark.parametrize("por_filas", [False, True], ids=["auditoria-en-sql", "filas-cargadas"])
@pytest.mark.parametrize("modelo,nombre", DECLARADAS, ids=IDS)
def test_en_bloque_termina_como_fila_a_fila(esc, u, monkeypatch, modelo, nombre, por_filas):
    origen = T.fuentes(modelo, nombre)[0]
    sola, *grupo = [esc.en(modelo, origen) for _ in range(3)]
    datos = DATOS[(modelo, nombre)](u)
    if por_filas:  # as for a role whose scope depends on the row: the rows are loaded and checked
        monkeypatch.setattr(en_bloque, "_rol_uniforme", lambda permiso, usuario: None)
    antes = {o.pk: _campos(o) for o in (sola, *grupo)}
    with time_machine.travel(INSTANTE, tick=False):
        T.aplicar(sola, nombre, u.sistema, nota=NOTA, **datos)
        pks = T.aplicar_en_bloque(
            modelo.objects.filter(pk__in=[o.pk for o in grupo]), nombre, u.sistema, nota=NOTA, **datos
        )
    assert sorted(pks) == sorted(o.pk for o in grupo)
    esperado = _cambios(antes[sola.pk], _campos(sola))
    assert (esperado["estado"], esperado["version"]) == (T.transiciones(modelo)[nombre].target, 1)
    for o in grupo:
        assert _cambios(antes[o.pk], _campos(o)) == esperado
    filas = _auditoria(sola, nombre)
    assert len(filas) == 1 and filas[0][:2] == (True, True)
    assert [_auditoria(o, nombre) for o in grupo] == [filas, filas]


@pytest.mark.parametrize("modelo,nombre", DECLARADAS, ids=IDS)
def test_un_cuerpo_declarado_en_bloque_no_lee_nada_ni_tiene_condiciones_ni_efectos(esc, u, modelo, nombre):
    """What the declaration promises (the set-based path runs the body once, on a copy of one
    row, and gives every row what it set)."""
    meta = getattr(modelo, nombre)._django_fsm
    assert not any(t.conditions for t in meta.transitions.values())
    obj = esc.en(modelo, T.fuentes(modelo, nombre)[0])
    datos = DATOS[(modelo, nombre)](u)
    ctx = T.Contexto(usuario=u.sistema, rol="SISTEMA", ahora=INSTANTE)
    with CaptureQueriesContext(connection) as consultas:
        despues = getattr(obj, nombre)(ctx, **datos)
    assert despues is None
    assert consultas.captured_queries == []


def test_una_transicion_no_declarada_se_rechaza_sin_tocar_nada(esc, u):
    z = esc.zonificacion("recibida")  # «digitar» has no effect, but is not declared en_bloque
    with pytest.raises(T.TransicionNoEnBloque) as e:
        T.aplicar_en_bloque(Zonificacion.objects.filter(pk=z.pk), "digitar", u.gestion_red)
    assert isinstance(e.value, ErrorDominio) and "no se aplica en bloque" in e.value.mensaje
    z.refresh_from_db()
    assert (z.estado, z.version) == ("recibida", 0)
    assert not RegistroAuditoria.de_objeto(z).filter(transicion="digitar").exists()


def test_el_codigo_de_la_aplicacion_no_importa_django_test():
    """Eligibility is declared, not probed at run time with django.test's query capture."""
    raiz = Path(__file__).resolve().parent.parent / "anulaciones"
    hallados = []
    for ruta in raiz.rglob("*.py"):
        for nodo in ast.walk(ast.parse(ruta.read_text(encoding="utf-8"))):
            nombres = (
                [a.name for a in nodo.names]
                if isinstance(nodo, ast.Import)
                else [nodo.module or ""]
                if isinstance(nodo, ast.ImportFrom)
                else []
            )
            hallados += [f"{ruta.relative_to(raiz)}: {n}" for n in nombres if n.startswith("django.test")]
    assert not hallados
