"""Issue 13, item 7: fuzzing over the pages, as schemathesis does over the API.

Every URL pattern of the site is enumerated from the URL resolver (the admin, static files, the
API — schemathesis covers it — and logout aside). Path parameters are filled with the ids of
real objects built by the scenarios and with ids that exist nowhere. Each page then gets GET
requests with bad values in every query parameter it may read, and POST requests with bad values
in every field of every form it may read, as each of the nine roles. No answer may be a 5xx: all
failures are collected and reported together.

Which parameters a page reads: the fields of the forms and FilterSets its view's module uses
(``anulaciones/forms.py: FORMULARIOS`` for the generic transition view; ``form_class`` for a
class-based view), the names of the inputs of the page as a role with access sees it, and a
fixed list of common parameters. Every parameter gets every bad value once per page (a cycle
shifted per parameter, so one request carries many bad values at once); the role rotates among
the nine and a role refused (403 / 404) leaves the rotation. A fixed seed and a bounded number
of requests (about 2,200) keep it deterministic and fast (see docs/web.md, "Input limits").
"""

import inspect
import json
import random
import re
import time
import traceback
from datetime import date

import django_filters
import pytest
from django import forms
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from anulaciones import direcciones as D
from anulaciones import transitions
from anulaciones.entregas import generar_entrega
from anulaciones.forms import FORMULARIOS
from anulaciones.models import (
    Entrega,
    ImportacionSmartflex,
    Notificacion,
    OrdenDeTrabajo,
    ServicioIngenieria,
    Solicitud,
    Zonificacion,
)
from anulaciones.views.comun import MODELOS

pytestmark = pytest.mark.django_db

SEMILLA = 13
OMITIDAS = ("admin/", "api/", "static/", "media/")
NOMBRES_OMITIDOS = {"logout"}
COMUNES = (
    "q",
    "page",
    "per_page",
    "sort",
    "mes",
    "desde",
    "hasta",
    "zona",
    "asesor",
    "estado",
    "tipo",
    "id",
    "next",
    "vista",
)
NO_ENVIAR = {"csrfmiddlewaretoken"}

ANIDADO = "[" * 60 + "]" * 60
VALORES = [
    "",
    "\x00",
    "%00",
    "²",
    "١٢",
    "-1",
    "0",
    "99999999999999999999",
    "1e400",
    "NaN",
    "9999-12",
    "0001-01",
    "2024-02-30",
    "x" * 10_000,
    "'; DROP TABLE anulaciones_solicitud; --",
    "<script>alert(1)</script>",
    ANIDADO,
    "/a\r\nX: y",
    "\u202e\ufeff😀 \t",
    ["1", "\x00", "-1"],  # a list: the parameter repeated
]
# Uploaded files for the file fields (a file field also gets every value above).
ARCHIVOS = [
    ("capa.geojson", ANIDADO.encode() * 2000),
    ("capa.csv", b"kind;name;zone;lat;lon\npunto_referencia;X;Z1;1e400;1e400\ncaja_nap;N;Z1;NaN;-1e28\n"),
    (
        "capa.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"kind": "punto_referencia", "name": "P", "zone": "Z1"},
                        "geometry": {"type": "Point", "coordinates": [1e300, -1e28]},
                    }
                ],
            }
        ).encode(),
    ),
    ("smartflex.csv", "numero_smartflex,tipo\n\x00,²\n".encode()),
    ("smartflex.xlsx", b"PK\x03\x04 not a workbook"),
    ("capa.json", b"\xff\xfe\x00\x00"),
]
ROLES = ("asesor", "monitora", "team_leader", "gestion_red", "coc", "coz", "tecnico", "jefe_division", "facturacion")
# The model a path's ``<int:pk>`` names, by the segment before it. A new page with an id of
# another model must be added here (the test says so).
MODELO_DEL_SEGMENTO = {
    "solicitudes": Solicitud,
    "ordenes": OrdenDeTrabajo,
    "entregas": Entrega,
    "importar": ImportacionSmartflex,
}
IDS_MALOS = ("0", "99999999999999999999")
PARAMETRO = re.compile(r"<(?:(\w+):)?(\w+)>")
NOMBRE_CAMPO = re.compile(r'<(?:input|select|textarea|button)\b[^>]*?\bname="([^"]+)"')


# --- what there is to fuzz ---------------------------------------------------------------------
def rutas():
    """(route, name, view) of every pattern, in the resolver's order; a route shadowed by an
    earlier one (the auth app's login under ours) is left out."""

    def recorrer(patrones, prefijo):
        for p in patrones:
            if isinstance(p, URLResolver):
                yield from recorrer(p.url_patterns, prefijo + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefijo + str(p.pattern), p.name, p.callback

    vistas = {}
    for ruta, nombre, vista in recorrer(get_resolver().url_patterns, ""):
        if ruta.startswith(OMITIDAS) or nombre in NOMBRES_OMITIDOS or ruta in vistas:
            continue
        vistas[ruta] = (nombre, vista)
    return [(ruta, nombre, vista) for ruta, (nombre, vista) in vistas.items()]


def campos_de_clase(clase):
    """{field: is_file} of a form or FilterSet class."""
    if isinstance(clase, type) and issubclass(clase, django_filters.FilterSet):
        return {n: False for n in clase.base_filters}
    if isinstance(clase, type) and issubclass(clase, forms.BaseForm):
        return {n: isinstance(f, forms.FileField) for n, f in clase.base_fields.items()}
    return {}


def campos_de_vista(vista):
    """The fields of the forms and FilterSets a view may read: its ``form_class`` (class-based
    views) or every form class in its module (function views)."""
    campos = {}
    clase = getattr(vista, "view_class", None)
    if clase is not None:
        campos.update(campos_de_clase(getattr(clase, "form_class", None)))
        return campos
    for valor in inspect.unwrap(vista).__globals__.values():
        campos.update(campos_de_clase(valor))
    return campos


def lee_post(vista):
    """Whether a view reads a POST at all (else only GET is fuzzed); a function's source
    includes its decorators (@require_POST)."""
    clase = getattr(vista, "view_class", None)
    if clase is not None:
        return hasattr(clase, "post")
    fuente = inspect.getsource(inspect.unwrap(vista))
    return any(marca in fuente for marca in ("POST", "request.method", "request.FILES"))


class Variante:
    """One path of a route (its parameters filled) and what to send to it."""

    def __init__(self, url, campos=None, propia=False, solo_humo=False):
        self.url, self.campos, self.propia, self.solo_humo = url, campos or {}, propia, solo_humo


def _llenar(ruta, valores):
    return "/" + PARAMETRO.sub(lambda m: str(valores[m.group(2)]), ruta)


def variantes(ruta, nombre, objetos):
    parametros = [p for _, p in PARAMETRO.findall(ruta)]
    if not parametros:
        return [Variante(_llenar(ruta, {}))]
    if nombre == "transicion":
        return variantes_transicion(ruta, objetos)
    if parametros == ["pk"]:
        segmento = ruta.split("<", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        modelo = MODELO_DEL_SEGMENTO.get(segmento)
        assert modelo is not None, f"{ruta}: add the model of its <int:pk> to MODELO_DEL_SEGMENTO"
        reales = objetos[modelo][:2]
        assert reales, f"{ruta}: the scenarios built no {modelo.__name__}"
        return [Variante(_llenar(ruta, {"pk": o.pk})) for o in reales] + [
            Variante(_llenar(ruta, {"pk": pk}), solo_humo=True) for pk in IDS_MALOS
        ]
    if set(parametros) == {"uidb64", "token"}:
        return [
            Variante(_llenar(ruta, {"uidb64": "MQ", "token": "set-password"})),
            Variante(_llenar(ruta, {"uidb64": "%00", "token": "x" * 300}), solo_humo=True),
        ]
    raise AssertionError(f"{ruta}: the fuzzer does not know how to fill {parametros}")


def variantes_transicion(ruta, objetos):
    """Every transition of every machine on a real object of its model (a transition with a
    form gets its own cycle of values; those without share one), plus unknown ones."""
    res = []
    rng = random.Random(SEMILLA)
    for slug, modelo in MODELOS.items():
        for nombre in transitions.transiciones(modelo):
            obj = rng.choice(objetos[modelo])
            form = FORMULARIOS.get((modelo, nombre))
            res.append(
                Variante(
                    _llenar(ruta, {"modelo": slug, "pk": obj.pk, "nombre": nombre}),
                    campos={**campos_de_clase(form), "version": False},
                    propia=form is not None,
                )
            )
    sol = objetos[Solicitud][0].pk
    for modelo, pk, nombre in (
        ("x", sol, "observar"),
        ("solicitud", sol, "x"),
        ("solicitud", IDS_MALOS[1], "anular"),
        ("orden", sol * 1000, "asignar"),
    ):
        res.append(Variante(_llenar(ruta, {"modelo": modelo, "pk": pk, "nombre": nombre}), solo_humo=True))
    return res


# --- the scenario ------------------------------------------------------------------------------
@pytest.fixture
def objetos(esc, u, zona, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sols = [esc.solicitud(e) for e in ("registrada", "observada", "pendiente_redigitacion", "en_correccion")]
    ordenes = [esc.orden(e) for e in ("asignada", "reportada_coz", "en_coc", "generada")]
    servicios = [esc.servicio("abierto"), esc.servicio("vencido")]
    zonificaciones = [esc.zonificacion("recibida"), esc.zonificacion("digitada")]
    sols += [z.solicitud for z in zonificaciones]
    ordenes += [z.orden for z in zonificaciones]  # executed: zonification and impediment pages
    esc.zonificacion("digitada")
    entrega = generar_entrega(date(2026, 1, 1), u.gestion_red)
    imp = ImportacionSmartflex.objects.create(
        archivo=ContentFile(b"numero_smartflex\nSF-1\n", name="s.csv"),
        nombre="s.csv",
        usuario=u.gestion_red,
        etapa=ImportacionSmartflex.Etapa.CON_ERRORES,
        errores=[{"fila": 2, "columna": "tipo", "mensaje": "Falta el tipo."}],
    )
    D.registrar_punto(u.gestion_red, nombre="Plaza", zona=zona, latitud="-16.5", longitud="-68.15")
    D.registrar_caja(u.gestion_red, codigo="NAP-01", zona=zona, latitud="-16.501", longitud="-68.151")
    for rol in ROLES:
        Notificacion.objects.create(
            usuario=getattr(u, rol),
            tipo=Notificacion.Tipo.values[0],
            clave=f"servicio:{servicios[0].pk}",
            servicio=servicios[0],
            solicitud=sols[0],
        )
    return {
        Solicitud: sols,
        OrdenDeTrabajo: ordenes,
        ServicioIngenieria: servicios,
        Zonificacion: zonificaciones,
        Entrega: [entrega],
        ImportacionSmartflex: [imp],
    }


# --- the run -----------------------------------------------------------------------------------
def _resumen(datos):
    def corto(v):
        if isinstance(v, list):
            return [corto(x) for x in v]
        if hasattr(v, "name"):
            return f"<archivo {v.name}>"
        return v if len(v) <= 40 else f"{v[:20]}…({len(v)} car.)"

    return json.dumps({k: corto(v) for k, v in datos.items()}, ensure_ascii=True)[:600]


class Fuzzer:
    def __init__(self, u):
        self.clientes = {}
        for rol in ROLES:
            c = Client()  # raises the view's exception, with its traceback
            c.force_login(getattr(u, rol))
            self.clientes[rol] = c
        self.fallos, self.peticiones, self.por_ruta = {}, 0, {}

    def fallo(self, ruta, metodo, url, rol, datos, error):
        """Failures grouped by page, method and error: each with how many times and one example."""
        clave = (ruta, metodo, error)
        if not self.fallos:
            self.primero = f"{metodo} {url} as {rol} {_resumen(datos)}: {error}\n{traceback.format_exc()[-3000:]}"
        if clave not in self.fallos:
            self.fallos[clave] = [0, f"{metodo} {url} as {rol} {_resumen(datos)}"]
        self.fallos[clave][0] += 1

    def informe(self):
        return "\n".join(
            f"{metodo} /{ruta}: {error} ({n}x), e.g. {ejemplo}"
            for (ruta, metodo, error), (n, ejemplo) in sorted(self.fallos.items())
        )

    def pedir(self, ruta, rol, metodo, url, datos):
        self.peticiones += 1
        self.por_ruta.setdefault(ruta, set()).add(rol)
        cliente = self.clientes[rol]
        try:
            with transaction.atomic():  # a failed request must not abort the test's transaction
                for v in datos.values():
                    if hasattr(v, "seek"):
                        v.seek(0)
                r = cliente.post(url, datos) if metodo == "POST" else cliente.get(url, datos)
                if r.streaming:  # the client closes it (without closing the test's connection)
                    b"".join(r.streaming_content)
        except Exception as e:  # noqa: BLE001 - every failure is collected and reported together
            lugar = traceback.extract_tb(e.__traceback__)[-1]
            self.fallo(
                ruta,
                metodo,
                url,
                rol,
                datos,
                f"{type(e).__name__}: {str(e)[:200]} ({lugar.filename.rsplit('/', 2)[-1]}:{lugar.lineno})",
            )
            return None
        if r.status_code >= 500:
            self.fallo(ruta, metodo, url, rol, datos, f"HTTP {r.status_code}")
        return r


def _valor(campo_archivo, i):
    if campo_archivo and i % 2:
        nombre, contenido = ARCHIVOS[(i // 2) % len(ARCHIVOS)]
        return SimpleUploadedFile(nombre, contenido)
    return VALORES[i % len(VALORES)]


def _datos(campos, i, desplazamiento):
    """Request ``i`` of a cycle: field ``j`` gets value ``i + j`` (shifted per page), so over
    len(VALORES) requests each field gets each value once."""
    return {c: _valor(archivo, i + j * 7 + desplazamiento) for j, (c, archivo) in enumerate(sorted(campos.items()))}


def test_ninguna_pagina_responde_5xx_a_valores_malos(u, objetos):
    todas = rutas()
    assert len(todas) >= 40, [r for r, _, _ in todas]
    fuzz(u, objetos, todas)


def fuzz(u, objetos, todas):
    inicio = time.monotonic()
    f = Fuzzer(u)
    rng = random.Random(SEMILLA)
    for ruta, nombre, vista in todas:
        campos_vista = campos_de_vista(vista)
        post = lee_post(vista)
        vs = variantes(ruta, nombre, objetos)
        # The values of a page are shared out among its variants (a transition with a form
        # gets every value in its POST fields: ``propia``).
        compartidas = [v for v in vs if not v.solo_humo]
        ciclos = [(v, n, len(compartidas)) for n, v in enumerate(compartidas)]
        for v in vs:
            if v.solo_humo:  # an id that does not exist, an unknown transition: each role once
                for k, rol in enumerate(ROLES):
                    metodo = "POST" if post and k % 2 else "GET"
                    f.pedir(ruta, rol, metodo, v.url, _datos({c: False for c in COMUNES}, k, rng.randrange(99)))
        vistos = None
        for v, parte, partes in ciclos:
            # What the page shows: its inputs, as the first role that may see it.
            for rol in ROLES if vistos is None else ():
                r = f.pedir(ruta, rol, "GET", v.url, {})
                if r is not None and r.status_code == 200 and "html" in r.get("Content-Type", ""):
                    vistos = {n: False for n in NOMBRE_CAMPO.findall(r.content.decode()) if n not in NO_ENVIAR}
                    break
                if r is not None and r.status_code == 405:
                    break
            campos = {**{c: False for c in COMUNES}, **(vistos or {}), **campos_vista, **v.campos}
            desplazamiento = rng.randrange(len(VALORES))
            for metodo in ("GET", "POST") if post else ("GET",):
                roles = list(ROLES)
                todos = metodo == "POST" and v.propia
                pendientes = [i for i in range(len(VALORES)) if todos or i % partes == parte] or [parte % len(VALORES)]
                k = 0
                while pendientes:
                    i = pendientes.pop(0)
                    rol = roles[k % len(roles)]
                    k += 1
                    r = f.pedir(ruta, rol, metodo, v.url, _datos(campos, i, desplazamiento))
                    if r is not None and r.status_code == 405:
                        break
                    if r is not None and r.status_code in (403, 404) and len(roles) > 1:
                        roles.remove(rol)  # this role may not use the page: the value goes again
                        pendientes.insert(0, i)
    duracion = time.monotonic() - inicio
    print(f"\nfuzz: {f.peticiones} requests over {len(todas)} routes in {duracion:.1f} s")
    sin_todos = {r: sorted(set(ROLES) - roles) for r, roles in f.por_ruta.items() if set(ROLES) - roles}
    assert not sin_todos, f"routes not requested by every role: {sin_todos}"
    assert len(f.por_ruta) == len(todas)
    assert not f.fallos, f"requests answered 5xx:\n{f.informe()}\nfirst:\n{f.primero}"
