"""Every list page costs the same number of SQL queries with 10 rows as with 1,000.

One object of each kind is taken to its state through the transition path; the volume is then
made of bulk copies of those rows (same states, new numbers), which is fixture data, not a
state change by the application."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anulaciones.models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion

pytestmark = pytest.mark.django_db

_serie = itertools.count(1)


def _copia(obj, **cambios):
    campos = {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields if not f.primary_key}
    campos.update(cambios)
    return type(obj)(**campos)


def clonar(sol, n):
    """n copies of a Solicitud with its OT, SIs and zonifications, in a few bulk inserts."""
    if n <= 0:
        return
    orden = OrdenDeTrabajo.objects.filter(solicitud=sol).first()
    servicios = list(ServicioIngenieria.objects.filter(solicitud=sol))
    zons = list(Zonificacion.objects.filter(solicitud=sol))
    nuevas = Solicitud.objects.bulk_create(
        [_copia(sol, numero_smartflex=f"C-{next(_serie)}", reemplazada_por_id=None) for _ in range(n)]
    )
    ordenes = []
    if orden is not None:
        ordenes = OrdenDeTrabajo.objects.bulk_create(
            [_copia(orden, solicitud_id=s.pk, numero=f"OT-C-{next(_serie)}") for s in nuevas]
        )
    ServicioIngenieria.objects.bulk_create(
        [
            _copia(si, solicitud_id=s.pk, orden_id=o.pk if ordenes else None)
            for s, o in itertools.zip_longest(nuevas, ordenes)
            for si in servicios
        ]
    )
    Zonificacion.objects.bulk_create(
        [_copia(z, solicitud_id=s.pk, orden_id=o.pk) for s, o in zip(nuevas, ordenes, strict=False) for z in zons]
    )


def consultas(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries), r


PAGINAS = [
    # (user, url, what the page must list)
    ("asesor", "/", "correccion"),
    ("monitora", "/", "servicios"),
    ("team_leader", "/", "correccion"),
    ("gestion_red", "/", "revisar"),
    ("coc", "/", "en_coc"),
    ("coz", "/", "coz"),
    ("tecnico", "/", "tecnico"),
    ("jefe_division", "/", None),
    ("facturacion", "/", None),
    ("coc", "/solicitudes/", None),
    ("asesor", "/solicitudes/", None),
    ("tecnico", "/ordenes/", None),
    ("coc", "/ordenes/", None),
    ("coz", "/ordenes/?estado=reportada_coz", None),
]


def test_paginas_de_lista_con_10_y_1000_filas(esc, u, client):
    base = [
        esc.solicitud("registrada"),
        esc.solicitud("en_correccion"),
        esc.solicitud("pendiente_redigitacion"),
        esc.solicitud("observada"),
        esc.servicio("abierto", destinatario="MONITORA").solicitud,
        esc.orden("en_coc").solicitud,
        esc.orden("reportada_coz").solicitud,
        esc.orden("asignada").solicitud,
        esc.zonificacion("recibida").solicitud,
    ]
    medidas = {}
    hechas = 1  # rows of each kind so far
    for filas in (10, 1000):
        for s in base:
            clonar(s, filas - hechas)
        hechas = filas
        for rol, url, cola in PAGINAS:
            client.force_login(getattr(u, rol))
            n, r = consultas(client, url)
            if cola:
                total = {c.clave: c.total for c in r.context["colas"]}[cola]
                assert total >= filas, (rol, cola, total)
            medidas.setdefault((rol, url), []).append(n)
    print("\nconsultas (10 filas, 1000 filas):")
    for (rol, url), (n10, n1000) in medidas.items():
        print(f"  {rol:14} {url:32} {n10:3} {n1000:3}")
    distintas = {k: v for k, v in medidas.items() if v[0] != v[1]}
    assert not distintas, distintas
    assert max(v[1] for v in medidas.values()) <= 30


def test_pagina_del_caso_constante_con_muchos_registros(esc, u, client):
    """The case page: its queries do not grow with the number of audit rows or contacts."""
    from anulaciones import transitions as T

    s = esc.solicitud("observada")
    url = reverse("solicitud", args=[s.pk])
    client.force_login(u.gestion_red)
    T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    n1, _ = consultas(client, url)
    for _ in range(20):
        T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    n2, _ = consultas(client, url)
    assert n1 == n2
