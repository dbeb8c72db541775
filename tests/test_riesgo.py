"""Risk of observation or cancellation at entry (issue 19): the engine. What the history makes of a
new registration (busy street against clean street, aliases, smoothing, no history), the import
path, the nightly recompute, and the monthly evaluation that never reads what came after its
month. History is registered through the import path (``crear_en_bloque``) and its outcomes come
from real transitions (observar, anular…)."""

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import direcciones, puntaje, riesgo
from anulaciones import transitions as T
from anulaciones.models import FactorRiesgo, Observacion, Solicitud

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
_numeros = itertools.count(1)


def local(*args):
    return datetime(*args, tzinfo=LP)


@pytest.fixture(autouse=True)
def ajustes(settings):
    settings.ANULACIONES_RIESGO_PRIOR = 20
    settings.ANULACIONES_RIESGO_ALFA = 0.5
    settings.ANULACIONES_RIESGO_ALTO = 2.0
    settings.ANULACIONES_RIESGO_MEDIO = 1.3
    return settings


def fila(u, zona, calle, **extra):
    datos = dict(
        numero_smartflex=f"SF-H-{next(_numeros):06d}",
        tipo="instalacion",
        cliente_nombre="Cliente de historial",
        calle=calle,
        numero_puerta="10",
        zona_id=zona.pk,
        asesor_id=u.asesor.pk,
        caja_nap="NAP-01",
        plan="Fibra 100",
    )
    datos.update(extra)
    return datos


def observar(s, u, detalle="Calle mal escrita"):
    T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle=detalle)


def historial(u, zona, calles):
    """{street: (Solicitudes, how many of them observed)}, registered by the import path; the
    first ones of each street are observed by Gestión de Red (step 2). Returns {street: [rows]}."""
    filas = [fila(u, zona, calle) for calle, (n, _) in calles.items() for _ in range(n)]
    nuevas = T.crear_en_bloque(u.gestion_red, filas)
    por_calle = {}
    for s in nuevas:
        por_calle.setdefault(s.calle, []).append(s)
    for calle, (_, k) in calles.items():
        for s in por_calle[calle][:k]:
            observar(s, u)
    return por_calle


# Arce: observed in 6 of 9; Sucre: clean in 110; Nueva: seen once, observed. Base rate 7 / 120.
CALLES = {"Av. Arce": (9, 6), "Calle Sucre": (110, 0), "Calle Nueva": (1, 1)}


@pytest.fixture
def con_historial(u, zona):
    por_calle = historial(u, zona, CALLES)
    resultado = riesgo.recalcular_factores()
    assert (resultado["solicitudes"], resultado["problemas"]) == (120, 7)
    return por_calle


# --- what a registration gets ----------------------------------------------------------------
def test_sin_historial_no_hay_puntaje(nueva_solicitud):
    s = nueva_solicitud(calle="Av. Arce")
    s.refresh_from_db()
    assert (s.riesgo, s.riesgo_banda, s.riesgo_motivos, s.riesgo_sugerencias) == (None, "", [], [])
    assert s.clave_calle == "arce"
    riesgo.recalcular_factores()  # a history with no problem yet: still no score
    previa = riesgo.vista_previa({"calle": "Av. Arce", "zona": s.zona, "asesor": s.asesor})
    assert (previa["riesgo"], previa["banda"], previa["motivos"]) == (None, "", [])


def test_calle_con_muchas_observaciones_alto_y_calle_limpia_bajo(con_historial, nueva_solicitud):
    arce = nueva_solicitud(calle="Av. Arce")
    sucre = nueva_solicitud(calle="Calle Sucre")
    arce.refresh_from_db()
    sucre.refresh_from_db()
    assert arce.riesgo > sucre.riesgo
    assert (arce.riesgo_banda, sucre.riesgo_banda) == ("alto", "bajo")
    p0 = 7 / 120
    assert arce.riesgo >= 2 * p0 and sucre.riesgo < p0
    # the reason that weighs most names the street and its counts
    assert arce.riesgo_motivos[0]["factor"] == "calle"
    assert arce.riesgo_motivos[0]["texto"] == "la calle «Av. Arce» fue observada o anulada en 6 de 9 solicitudes"
    assert arce.riesgo_motivos[0]["peso"] > 0
    assert "confirme la dirección con el cliente y agregue una referencia" in arce.riesgo_sugerencias
    # the clean street pushes the score down: no reason to show, nothing to suggest
    assert sucre.riesgo_motivos == [] and sucre.riesgo_sugerencias == []


def test_vista_previa_da_lo_mismo_que_se_guarda_sin_escribir(con_historial, nueva_solicitud, u, zona):
    antes = Solicitud.objects.count()
    previa = riesgo.vista_previa(
        {
            "calle": "Av. Arce",
            "caja_nap": "NAP-01",
            "plan": "Fibra 100",
            "tipo": "instalacion",
            "zona": zona,
            "asesor": u.asesor,
        }
    )
    assert Solicitud.objects.count() == antes
    s = nueva_solicitud(calle="Av. Arce")
    assert (previa["riesgo"], previa["banda"], previa["banda_texto"]) == (s.riesgo, "alto", "Alto")
    assert previa["motivos"] == s.riesgo_motivos and previa["sugerencias"] == s.riesgo_sugerencias
    # ids work as well as objects; an empty box is a suggestion of its own
    por_ids = riesgo.vista_previa(
        {"calle": "Av. Arce", "zona_id": zona.pk, "asesor_id": u.asesor.pk, "tipo": "instalacion"}
    )
    assert por_ids["banda"] == "alto"
    assert por_ids["sugerencias"][0] == "agregue la caja/NAP más cercana"


def test_un_alias_de_la_calle_tiene_el_mismo_riesgo(con_historial, nueva_solicitud, u):
    direcciones.registrar_calle(u.gestion_red, nombre="Av. Arce", aliases="Arse")
    arce = nueva_solicitud(calle="Av. Arce")
    alias = nueva_solicitud(calle="Avenida Arse")
    assert alias.clave_calle == arce.clave_calle == "arce"
    assert (alias.riesgo, alias.riesgo_banda) == (arce.riesgo, "alto")
    assert alias.riesgo_motivos[0]["texto"] == "la calle «Av. Arce» fue observada o anulada en 6 de 9 solicitudes"


def test_un_alias_aprendido_despues_junta_el_historial(u, zona, nueva_solicitud):
    """Rows typed with the wrong name before anyone recorded the alias count with the street
    once the alias is known (the recompute resolves the stored keys)."""
    historial(u, zona, {"Av. Arce": (6, 4), "Arse": (3, 2), "Calle Sucre": (110, 0), "Calle Nueva": (1, 1)})
    riesgo.recalcular_factores()
    assert FactorRiesgo.objects.get(factor="calle", clave="arce").total == 6
    direcciones.registrar_calle(u.gestion_red, nombre="Av. Arce", aliases="Arse")
    riesgo.recalcular_factores()
    assert not FactorRiesgo.objects.filter(factor="calle", clave="arse").exists()
    s = nueva_solicitud(calle="Arse")
    assert s.riesgo_banda == "alto"
    assert s.riesgo_motivos[0]["texto"] == "la calle «Av. Arce» fue observada o anulada en 6 de 9 solicitudes"


def test_una_calle_vista_una_vez_queda_cerca_de_la_tasa_base(con_historial, nueva_solicitud):
    """Calle Nueva: 1 of 1 observed. Unsmoothed that is 100 %; the score stays near the base rate."""
    s = nueva_solicitud(calle="Calle Nueva")
    p0 = 7 / 120
    assert s.riesgo is not None and p0 < s.riesgo < 2 * p0
    assert s.riesgo_banda != "alto"
    assert abs(s.riesgo - p0) < 0.03
    assert s.riesgo_motivos[0]["texto"] == "la calle «Calle Nueva» fue observada o anulada en 1 de 1 solicitud"
    # the smoothed rate itself: (1 + 20·p0) / (1 + 20)
    assert puntaje.suavizar(1, 1, p0, 20) == pytest.approx((1 + 20 * p0) / 21)


def test_otros_factores_nombrados_en_los_motivos(u, zona, crear_usuario, nueva_solicitud):
    """An asesor whose registrations are often observed: the reason names him with his counts."""
    from anulaciones.roles import Rol

    otro = crear_usuario(Rol.ASESOR, "juan", team_leader=u.team_leader)
    otro.first_name, otro.last_name = "Juan", "Pérez"
    otro.save()
    filas = [fila(u, zona, f"Calle {i}", asesor_id=otro.pk) for i in range(10)]
    filas += [fila(u, zona, f"Pasaje {i}") for i in range(110)]
    nuevas = T.crear_en_bloque(u.gestion_red, filas)
    for s in nuevas[:7]:
        observar(s, u)
    riesgo.recalcular_factores()
    previa = riesgo.vista_previa(
        {
            "calle": "Calle 99",
            "zona": zona,
            "asesor": otro,
            "caja_nap": "NAP-01",
            "plan": "Fibra 100",
            "tipo": "instalacion",
        }
    )
    assert previa["motivos"][0]["texto"] == "el asesor Juan Pérez: observadas o anuladas 7 de 10 solicitudes"
    assert "revise los datos con su Team Leader" in previa["sugerencias"]


def test_la_caja_corregida_no_hereda_el_problema_de_la_que_se_registro(u, zona, nueva_solicitud):
    """The history is of what was registered: the box typed wrong (NAP-99) keeps its problems
    after the asesor corrects it to NAP-12 (4.1); the correct box is not blamed."""
    filas = [fila(u, zona, f"Calle {i}", caja_nap="NAP-99") for i in range(8)]
    filas += [fila(u, zona, f"Pasaje {i}", caja_nap="NAP-12") for i in range(112)]
    nuevas = T.crear_en_bloque(u.gestion_red, filas)
    for s in nuevas[:6]:
        observar(s, u, "La caja no existe")
        T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja correcta")
        T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Caja corregida", caja_nap="NAP-12")
    assert Solicitud.objects.filter(caja_nap="NAP-12").count() == 118
    riesgo.recalcular_factores()
    cajas = {
        c: (t, k) for c, t, k in FactorRiesgo.objects.filter(factor="caja").values_list("clave", "total", "problemas")
    }
    assert cajas == {"nap-99": (8, 6), "nap-12": (112, 0)}
    s = nueva_solicitud(calle="Calle Nueva", caja_nap="nap-99 ")
    assert s.riesgo_banda == "alto"
    assert s.riesgo_motivos[0]["texto"] == "la caja «nap-99» fue observada o anulada en 6 de 8 solicitudes"
    assert "verifique que la caja «nap-99» corresponde a la zona" in s.riesgo_sugerencias


# --- what counts as a problem ------------------------------------------------------------------
def test_observada_anulada_ot_anulada_y_redigitacion_cuentan_como_problema(esc, u):
    esc.solicitud("registrada")
    esc.solicitud("instalada")
    esc.solicitud("observada")
    esc.solicitud("anulada")  # cancelled with no observation
    esc.orden("anulada")  # the COC cancelled the OT (10): its Solicitud with it
    esc.solicitud("pendiente_redigitacion")
    resultado = riesgo.recalcular_factores()
    assert (resultado["solicitudes"], resultado["problemas"]) == (6, 4)
    assert FactorRiesgo.objects.get(factor="zona", clave=str(esc.zona.pk)).etiqueta == esc.zona.nombre


# --- the import path and the recompute: set-based ------------------------------------------------
def _consultas_de(ctx, tabla):
    return [q["sql"] for q in ctx.captured_queries if tabla in q["sql"]]


def test_la_importacion_guarda_el_riesgo_con_consultas_constantes(con_historial, u, zona):
    def importar(n, prefijo):
        filas = [
            fila(u, zona, "Av. Arce" if i % 2 else "Calle Sucre", numero_smartflex=f"{prefijo}-{i}") for i in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            nuevas = T.crear_en_bloque(u.gestion_red, filas)
        return nuevas, ctx

    importar(2, "W")  # content types cached
    pocas, ctx_pocas = importar(10, "A")
    muchas, ctx_muchas = importar(100, "B")
    for ctx in (ctx_pocas, ctx_muchas):
        assert len(_consultas_de(ctx, "anulaciones_factorriesgo")) == 1
        assert len(_consultas_de(ctx, "anulaciones_aliascalle")) == 1
    if connection.vendor == "postgresql":
        assert len(ctx_pocas.captured_queries) == len(ctx_muchas.captured_queries)
    guardadas = dict(
        Solicitud.objects.filter(numero_smartflex__startswith="B-").values_list("calle", "riesgo_banda").distinct()
    )
    assert guardadas == {"Av. Arce": "alto", "Calle Sucre": "bajo"}
    assert Solicitud.objects.get(numero_smartflex="B-1").riesgo_motivos[0]["texto"].startswith("la calle «Av. Arce»")


def test_el_registro_cuesta_dos_consultas_de_puntaje_con_o_sin_historial(u, zona, nueva_solicitud):
    nueva_solicitud()  # content types and the like cached

    def registrar():
        with CaptureQueriesContext(connection) as ctx:
            s = nueva_solicitud(calle="Av. Arce")
        puntaje_sql = _consultas_de(ctx, "anulaciones_factorriesgo") + _consultas_de(ctx, "anulaciones_aliascalle")
        return s, len(ctx.captured_queries), len(puntaje_sql)

    sin, total_sin, de_puntaje_sin = registrar()
    historial(u, zona, CALLES)
    riesgo.recalcular_factores()
    con, total_con, de_puntaje_con = registrar()
    assert sin.riesgo is None and con.riesgo_banda == "alto"
    assert de_puntaje_sin == de_puntaje_con == 2
    assert total_con == total_sin  # the history's size costs nothing at entry


def test_recalcular_consultas_constantes_y_rellena_claves(u, zona):
    def recalcular():
        with CaptureQueriesContext(connection) as ctx:
            r = riesgo.recalcular_factores()
        return r, len(ctx.captured_queries)

    historial(u, zona, {"Av. Arce": (3, 1), "Calle Sucre": (7, 0)})
    recalcular()
    _, pocas = recalcular()
    historial(u, zona, {"Av. Arce": (30, 10), "Calle Sucre": (60, 0), **{f"Calle {i}": (1, 0) for i in range(10)}})
    r, muchas = recalcular()
    assert pocas == muchas
    assert (r["solicitudes"], r["problemas"], r["claves_calle"]) == (110, 11, 0)
    # rows written without the key (an older release, SQL): filled by the next recompute
    Solicitud.objects.update(clave_calle="")
    r = riesgo.recalcular_factores()
    assert r["claves_calle"] == 110
    assert FactorRiesgo.objects.get(factor="calle", clave="arce").total == 33
    assert set(Solicitud.objects.values_list("clave_calle", flat=True)) == {
        "arce",
        "sucre",
        *(f"{i}" for i in range(10)),
    }


def test_la_tarea_nocturna_recalcula(u, zona, settings):
    from anulaciones import tasks

    assert settings.CELERY_BEAT_SCHEDULE["recalcular-riesgo"]["task"] == "anulaciones.tasks.recalcular_riesgo"
    historial(u, zona, {"Av. Arce": (4, 2)})
    assert tasks.recalcular_riesgo() == {
        "claves_calle": 0,
        "factores": 6,
        "solicitudes": 4,
        "problemas": 2,
    }
    assert FactorRiesgo.objects.get(factor="base").problemas == 2


# --- the monthly evaluation ------------------------------------------------------------------------
def _registrar_en(cuando, u, zona, calles):
    with time_machine.travel(cuando, tick=False):
        return historial(u, zona, calles)


def _mes_de_octubre(u, zona):
    """September: the history (Arce 6/9, Sucre 0/110, Nueva 1/1). October: 4 on Arce (the first
    3 observed in October) and 16 on Sucre (1 observed in October, 1 only in November)."""
    septiembre = _registrar_en(local(2026, 9, 10, 10), u, zona, CALLES)
    with time_machine.travel(local(2026, 10, 1, 0, 0), tick=False):
        riesgo.recalcular_factores()  # what registrations in October were scored with
    with time_machine.travel(local(2026, 10, 5, 10), tick=False):
        octubre = historial(u, zona, {"Av. Arce": (4, 0), "Calle Sucre": (16, 0)})
    with time_machine.travel(local(2026, 10, 20, 10), tick=False):
        for s in octubre["Av. Arce"][:3] + octubre["Calle Sucre"][:1]:
            observar(s, u)
    with time_machine.travel(local(2026, 11, 2, 10), tick=False):
        observar(octubre["Calle Sucre"][1], u, "Observada después del mes")
    return septiembre, octubre


def test_evaluar_cifras_de_un_ejemplo_a_mano(u, zona):
    _, octubre = _mes_de_octubre(u, zona)
    with time_machine.travel(local(2026, 11, 15, 10), tick=False):
        ev = riesgo.evaluar(date(2026, 10, 1))
    assert ev["mes"] == "2026-10"
    assert (ev["solicitudes"], ev["problemas"], ev["tasa_base"]) == (20, 4, 4 / 20)
    # the top decile: 2 of 20, both on Arce (its first ones: observed)
    assert ev["decil_superior"] == {"n": 2, "problemas": 2, "tasa": 1.0}
    assert ev["alto"] == {"n": 4, "precision": 3 / 4, "recall": 3 / 4}
    bandas = {b["banda"]: b for b in ev["bandas"]}
    assert set(bandas) == {"bajo", "medio", "alto"}
    assert (bandas["alto"]["n"], bandas["alto"]["tasa_observada"]) == (4, 3 / 4)
    assert (bandas["bajo"]["n"], bandas["bajo"]["tasa_observada"]) == (16, 1 / 16)
    assert (bandas["medio"]["n"], bandas["medio"]["riesgo_medio"], bandas["medio"]["tasa_observada"]) == (0, None, None)
    # the scores are the ones October's registrations got with September's history
    arce = Solicitud.objects.get(pk=octubre["Av. Arce"][0].pk)
    sucre = Solicitud.objects.get(pk=octubre["Calle Sucre"][0].pk)
    assert bandas["alto"]["riesgo_medio"] == pytest.approx(arce.riesgo)
    assert bandas["bajo"]["riesgo_medio"] == pytest.approx(sucre.riesgo)
    assert ev["historia"] == {"solicitudes": 120, "problemas": 7, "tasa": 7 / 120}
    assert ev["corte_datos"] == local(2026, 10, 1).isoformat()
    assert ev["fin_resultados"] == local(2026, 11, 1).isoformat()


def test_evaluar_nunca_lee_datos_posteriores_a_su_mes(u, zona, esc):
    septiembre, octubre = _mes_de_octubre(u, zona)
    with time_machine.travel(local(2026, 11, 15, 10), tick=False):
        antes = riesgo.evaluar(date(2026, 10, 1))
        antes_septiembre = riesgo.evaluar(date(2026, 9, 1))
    # later: October's Solicitudes observed, corrected and cancelled; November and December
    # registrations on the same streets, observed; an alias learned; the history recomputed
    with time_machine.travel(local(2026, 11, 20, 10), tick=False):
        for s in octubre["Calle Sucre"][2:8]:
            observar(s, u, "Observada en noviembre")
        s = octubre["Calle Sucre"][2]
        T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja correcta")
        T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Caja", caja_nap="NAP-99")
        T.aplicar(
            octubre["Calle Sucre"][9],
            "anular",
            u.gestion_red,
            motivo="Cliente desiste",
            justificacion="Llamó para desistir",
        )
        observar(septiembre["Calle Sucre"][0], u, "Una de septiembre, observada en noviembre")
        direcciones.registrar_calle(u.gestion_red, nombre="Calle Sucre", aliases="Calle Nueva")
    _registrar_en(local(2026, 11, 25, 10), u, zona, {"Av. Arce": (5, 5), "Calle Sucre": (20, 10)})
    _registrar_en(local(2026, 12, 3, 10), u, zona, {"Calle Nueva": (8, 8)})
    with time_machine.travel(local(2026, 12, 10, 10), tick=False):
        riesgo.recalcular_factores()
        despues = riesgo.evaluar(date(2026, 10, 1))
        despues_septiembre = riesgo.evaluar(date(2026, 9, 15))
    assert Observacion.objects.filter(creado_at__gte=local(2026, 11, 1)).count() > 20
    assert despues == antes
    assert despues_septiembre == antes_septiembre
    # September had no history before it: every Solicitud of it unscored
    assert antes_septiembre["solicitudes"] == 120
    assert [b for b in antes_septiembre["bandas"] if b["banda"] == ""][0]["n"] == 120


def test_evaluar_un_mes_vacio(db):
    ev = riesgo.evaluar(date(2026, 3, 1))
    assert (ev["solicitudes"], ev["problemas"], ev["tasa_base"]) == (0, 0, None)
    assert ev["decil_superior"] == {"n": 0, "problemas": 0, "tasa": None}
    assert ev["alto"] == {"n": 0, "precision": None, "recall": None}


# --- the arithmetic ------------------------------------------------------------------------------
def test_puntaje_bandas_relativas_a_la_tasa_base():
    ajustes = dict(prior=20, alfa=0.5, alto=2.0, medio=1.3)
    assert puntaje.puntuar(None, {}, **ajustes).banda == ""
    assert puntaje.puntuar((0, 0), {}, **ajustes).riesgo is None
    # a factor never seen weighs nothing: the score is the base rate
    p = puntaje.puntuar((100, 10), {"calle": ("X", None), "plan": ("Y", (0, 0))}, **ajustes)
    assert p.riesgo == pytest.approx(0.1) and p.banda == "bajo" and p.motivos == []
    # no problem ever: nothing to learn from
    assert puntaje.puntuar((50, 0), {"calle": ("X", (5, 0))}, **ajustes).banda == ""
    # the three heaviest reasons, heaviest first
    p = puntaje.puntuar(
        (1000, 100),
        {
            "calle": ("A", (10, 9)),
            "caja": ("B", (40, 20)),
            "zona": ("C", (500, 80)),
            "plan": ("D", (30, 12)),
            "tipo": ("e", (900, 90)),
        },
        **ajustes,
    )
    assert [m.factor for m in p.motivos] == ["calle", "caja", "plan"]
    assert p.banda == "alto"
    assert p.motivos[0].n == 10 and p.motivos[0].k == 9
