"""The indicator costs a constant number of queries whatever the number of cases.

The 10 / 1,000 cases are bulk-inserted (data setup, not procedure): the semantic tests in
test_indicador.py build theirs through the transition path.
"""

import itertools
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anulaciones.models import Caso, IntentoContacto, Observacion, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zona
from anulaciones.reports import indicador as ind
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

_lote = itertools.count(1)


def poblar(n, asesores, registrador, zonas, *, desde=None, dias=28, semilla=1, lote=5000):
    """n probable cases spread over ``dias`` days from ``desde``, with every outcome: anulados
    (some after a contact attempt), re-digitated cases, open ones, SIs in and out of time."""
    rnd = random.Random(semilla)
    desde = desde or timezone.localtime().replace(day=1, hour=12, minute=0)
    prefijo = f"B{next(_lote)}-"
    estados = [
        "observada",
        "en_correccion",
        "corregida",
        "en_instalacion",
        "instalada",
        "anulada",
        "anulada",
        "pendiente_redigitacion",
    ]
    areas, causas = [Rol.GESTION_RED, Rol.COC, Rol.TECNICO], Observacion.Causa.values
    tipos = Solicitud.Tipo.values
    for inicio in range(0, n, lote):
        m = min(lote, n - inicio)
        cuandos = [desde + timedelta(minutes=rnd.randrange(dias * 24 * 60)) for _ in range(m)]
        casos = Caso.objects.bulk_create([Caso(probable_at=c) for c in cuandos])
        sols, redig, ots = [], [], []
        for i, (caso, cuando) in enumerate(zip(casos, cuandos, strict=False)):
            estado = rnd.choice(estados)
            comun = dict(
                tipo=rnd.choice(tipos),
                cliente_nombre="Cliente",
                calle="Calle",
                zona=rnd.choice(zonas),
                asesor=rnd.choice(asesores),
                registrada_por=registrador,
                caso=caso,
            )
            # some cancellations carry a 5.2 justification
            justificacion = {"justificacion_anulacion": "x"} if estado == "anulada" and i % 3 == 0 else {}
            if rnd.random() < 0.1:  # re-digitated: the old one redigitada, the new one carries the case
                redig.append(
                    (
                        Solicitud(
                            numero_smartflex=f"{prefijo}{inicio + i}-V",
                            estado="redigitada",
                            redigitacion_vence_at=cuando + timedelta(hours=2),
                            redigitacion_tardia=rnd.random() < 0.3,
                            **comun,
                        ),
                        Solicitud(numero_smartflex=f"{prefijo}{inicio + i}", estado=estado, **justificacion, **comun),
                    )
                )
            else:
                sols.append(
                    Solicitud(numero_smartflex=f"{prefijo}{inicio + i}", estado=estado, **justificacion, **comun)
                )
        nuevas = Solicitud.objects.bulk_create(sols + [r[1] for r in redig])
        viejas = Solicitud.objects.bulk_create([r[0] for r in redig])
        for vieja, (_, nueva) in zip(viejas, redig, strict=False):
            vieja.reemplazada_por_id = nueva.pk
        Solicitud.objects.bulk_update(viejas, ["reemplazada_por"])
        ot_estado = {"anulada": "anulada", "instalada": "ejecutada", "en_instalacion": "asignada"}
        for s in nuevas:
            ots.append(
                OrdenDeTrabajo(
                    numero=f"OT-{s.numero_smartflex}",
                    solicitud=s,
                    zona=s.zona,
                    estado=ot_estado.get(s.estado, "generada"),
                )
            )
        for s in viejas:
            ots.append(OrdenDeTrabajo(numero=f"OT-{s.numero_smartflex}", solicitud=s, zona=s.zona, estado="anulada"))
        OrdenDeTrabajo.objects.bulk_create(ots)
        primera = {s.caso_id: s for s in viejas}
        obs, contactos, sis = [], [], []
        for s in nuevas:
            sol = primera.get(s.caso_id, s)
            cuando = s.caso.probable_at
            for k in range(1 + (rnd.random() < 0.3)):
                obs.append(
                    Observacion(
                        solicitud=sol,
                        caso_id=s.caso_id,
                        paso="2",
                        area=rnd.choice(areas),
                        causa=rnd.choice(causas),
                        detalle="x",
                        registrada_por=registrador,
                        creado_at=cuando + timedelta(hours=k),
                    )
                )
            if s.estado == "anulada" and rnd.random() < 0.5:
                contactos.append(
                    IntentoContacto(
                        solicitud=s,
                        caso_id=s.caso_id,
                        realizado_at=cuando,
                        rol="COC",
                        usuario=registrador,
                        canal="llamada",
                        resultado="sin_respuesta",
                    )
                )
            if rnd.random() < 0.5:
                tarde = rnd.random() < 0.2
                sis.append(
                    ServicioIngenieria(
                        solicitud=s,
                        tipo="correccion",
                        destinatario=rnd.choice(["ASESOR", "MONITORA", "TEAM_LEADER"]),
                        requerido="x",
                        vence_at=cuando + timedelta(hours=8),
                        estado="atendido",
                        abierto_por=registrador,
                        fuera_de_plazo=tarde,
                        cerrado_at=cuando + timedelta(hours=10 if tarde else 1),
                    )
                )
        Observacion.objects.bulk_create(obs)
        IntentoContacto.objects.bulk_create(contactos)
        ServicioIngenieria.objects.bulk_create(sis)


def _consultas(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        respuesta = client.get(url, params or {})
    assert respuesta.status_code == 200
    return len(ctx.captured_queries), respuesta


@pytest.fixture
def poblado(u, zonas, crear_usuario):
    asesores = [u.asesor] + [crear_usuario(Rol.ASESOR, f"asesor_{i}") for i in range(4)]
    return lambda n: poblar(n, asesores, u.gestion_red, zonas)


def test_consultas_constantes_para_10_y_1000_casos(client, u, poblado):
    client.force_login(u.jefe_division)
    poblado(10)
    medidas = {}
    urls = [
        ("indicador", {}),
        ("indicador_json", {}),
        ("indicador_xlsx", {}),
        ("indicador_casos", {}),
        ("indicador_casos", {"resultado": "anulados"}),
        ("indicador_casos", {"zona": Zona.objects.first().pk}),
    ]
    for nombre, params in urls:
        n, respuesta = _consultas(client, reverse(nombre), params)
        medidas[(nombre, str(params))] = [n]
        if nombre == "indicador_casos":  # an empty list would skip the page query: make sure it is not
            assert b'<tr class="caso">' in respuesta.content, params
    assert ind.informe(ind.Periodo.actual())["total"]["probables"] == 10
    poblado(990)
    for nombre, params in urls:
        medidas[(nombre, str(params))].append(_consultas(client, reverse(nombre), params)[0])
    assert ind.informe(ind.Periodo.actual())["total"]["probables"] == 1000
    for clave, (diez, mil) in medidas.items():
        assert diez == mil, (clave, diez, mil)
    # The whole report page: twelve aggregate queries, four for the reconciliation with Smartflex
    # (issue 18: ``diferencias.cifras``, which feed the figure is reconciled with), its transaction
    # (and on PostgreSQL the SET LOCAL jit), plus session, user, roles and the layout's notifications.
    assert medidas[("indicador", "{}")][0] <= 24, medidas
    with CaptureQueriesContext(connection) as ctx:
        ind.informe(ind.Periodo.actual())
    informe = [q for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(informe) == 16, [q["sql"][:80] for q in informe]


def test_datos_masivos_cuadran(u, poblado):
    """On bulk data with every outcome, the breakdowns still add up to the total and the
    drill-down queryset has the count each breakdown shows."""
    poblado(300)
    periodo = ind.Periodo.actual()
    datos = ind.informe(periodo)
    total = datos["total"]
    assert total["probables"] == 300 and 0 < total["anulados"] < 300 and total["abiertos"] > 0
    assert total["sin_contacto"] < total["anulados"]
    assert 0 < total["sin_contacto_justificados"] < total["sin_contacto"]
    # Open cases: the figure is provisional, and its range is the same computation with every
    # open case cancelled.
    rango = total["indicador"]["rango"]
    assert total["indicador"]["provisional"] and rango["maximo"] == total["indicador"]["valor"]
    assert rango["minimo"] == ind.indicador(total["probables"], total["anulados"] + total["abiertos"])["valor"]
    for dim, bloque in datos["desgloses"].items():
        for campo in ("probables", "anulados", "abiertos", "sin_contacto", "sin_contacto_justificados"):
            assert sum(f[campo] for f in bloque["filas"]) == total[campo], (dim, campo)
        for f in bloque["filas"]:
            for resultado in ("probables", "anulados", "abiertos", "sin_contacto", "sin_contacto_justificados"):
                assert ind.casos(periodo, resultado=resultado, **{dim: f["valor"]}).count() == f[resultado]
    # Exactly one current Solicitud per case: re-digitated cases are not counted twice.
    assert Solicitud.objects.count() > 300
