"""The reconciliation with Smartflex through the API (issue 18): /api/v1/smartflex/… — the differences
and their resolution, the proposed re-entries (link, discard), the upload of a status feed with the job
to poll, and the figures; every role, every refusal in the API's one error shape, the double decision
(409), a constant number of queries per list, and the operations in the OpenAPI schema."""

import itertools
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones.models import Diferencia, Emparejamiento, EstadoSmartflex, ImportacionSmartflex, Solicitud
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

C = Diferencia.Clase
BASE = "/api/v1/smartflex"
TODOS = list(Rol)
LEEN = {Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION}
ACTUAN = {Rol.GESTION_RED, Rol.COC}
_claves = itertools.count(1)


def hace(**delta):
    return (timezone.now() - timedelta(**delta)).replace(second=0, microsecond=0)


def fuente(numero, estado="anulada", *, objeto="solicitud", solicitud=None, **extra):
    return EstadoSmartflex.objects.create(
        objeto=objeto,
        numero=numero,
        estado=estado,
        fecha=extra.pop("fecha", hace(days=1)),
        solicitud=solicitud,
        clave=f"clave-{next(_claves)}",
        **extra,
    )


def anulada_en_smartflex(s):
    f = fuente(s.numero_smartflex, solicitud=s, motivo="Cliente desiste", usuario="sf.operador1")
    return Diferencia.objects.create(fuente=f, clase=C.ANULADA_EN_SMARTFLEX, solicitud=s, estado_aplicacion=s.estado)


def sin_caso(numero, **extra):
    datos = {"zona": "", "asesor": "", "cliente_nombre": "Rosa Quispe", "direccion": "Calle Sucre 45"}
    datos.update(extra)
    return Diferencia.objects.create(fuente=fuente(numero, **datos), clase=C.SIN_CASO)


def propuesta(esc, confianza=80):
    anulada = esc.solicitud("anulada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    nueva = esc.solicitud("registrada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    return Emparejamiento.objects.create(
        anulada=anulada, nueva=nueva, confianza=confianza, motivos=["Mismo documento (4455667)"]
    )


@pytest.fixture
def api():
    def cliente(user=None):
        c = APIClient()
        if user is not None:
            c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    return cliente


# --- who -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rol", TODOS)
def test_lecturas_por_rol(rol, api, u, esc):
    anulada_en_smartflex(esc.solicitud("registrada"))
    propuesta(esc)
    c = api(u.por_rol[rol])
    for url in (f"{BASE}/diferencias/", f"{BASE}/emparejamientos/", f"{BASE}/cifras/"):
        r = c.get(url)
        if rol in LEEN:
            assert r.status_code == 200, (url, r.json())
        else:
            assert r.status_code == 403, url
            assert r.json() == {
                "detail": "Solo Gestión de Red, el COC y el Jefe de División consultan la conciliación con Smartflex.",
                "errores": {},
            }


@pytest.mark.parametrize("rol", TODOS)
def test_decisiones_por_rol(rol, api, u, esc, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    dif = anulada_en_smartflex(esc.solicitud("registrada"))
    emp, otra = propuesta(esc), propuesta(esc)
    c = api(u.por_rol[rol])
    respuestas = [
        c.post(f"{BASE}/diferencias/{dif.pk}/resolver/", {"accion": "registrar_anulacion"}, format="json"),
        c.post(f"{BASE}/emparejamientos/{emp.pk}/vincular/", {}, format="json"),
        c.post(f"{BASE}/emparejamientos/{otra.pk}/descartar/", {}, format="json"),
        c.post(f"{BASE}/estados/", {"archivo": SimpleUploadedFile("e.csv", b"numero;estado;fecha\n")}),
    ]
    if rol in ACTUAN:
        assert [r.status_code for r in respuestas] == [200, 200, 200, 202]
    else:
        assert [r.status_code for r in respuestas] == [403] * 4
        assert respuestas[0].json()["detail"] == "Solo Gestión de Red y el COC resuelven la conciliación con Smartflex."
        dif.refresh_from_db()
        assert dif.estado == "abierta" and not ImportacionSmartflex.objects.exists()


def test_sin_credenciales_401(api, esc):
    c = api()
    assert c.get(f"{BASE}/diferencias/").status_code == 401
    assert c.get(f"{BASE}/cifras/").status_code == 401
    assert c.post(f"{BASE}/diferencias/1/resolver/", {"accion": "error_smartflex"}, format="json").status_code == 401


# --- differences -----------------------------------------------------------------------------------------
def test_lista_y_filtros(api, u, esc):
    s = esc.solicitud("registrada")
    dif = anulada_en_smartflex(s)
    solo = sin_caso("SF-900001")
    c = api(u.coc)
    datos = c.get(f"{BASE}/diferencias/").json()
    assert datos["count"] == 2
    fila = next(f for f in datos["results"] if f["id"] == dif.pk)
    assert fila["clase"] == C.ANULADA_EN_SMARTFLEX and fila["estado"] == "abierta"
    assert fila["fuente"]["numero"] == s.numero_smartflex and fila["fuente"]["motivo"] == "Cliente desiste"
    assert fila["solicitud"] == s.pk and fila["solicitud_numero"] == s.numero_smartflex
    assert fila["aplicacion"].startswith(f"Solicitud {s.numero_smartflex}: Registrada")
    assert [a["accion"] for a in fila["acciones"]] == ["registrar_anulacion", "error_smartflex"]
    assert [f["id"] for f in c.get(f"{BASE}/diferencias/", {"clase": C.SIN_CASO}).json()["results"]] == [solo.pk]
    assert c.get(f"{BASE}/diferencias/", {"numero": "900001"}).json()["count"] == 1
    c.post(f"{BASE}/diferencias/{solo.pk}/resolver/", {"accion": "error_smartflex", "nota": "Duplicada"}, format="json")
    assert c.get(f"{BASE}/diferencias/").json()["count"] == 1  # the open ones
    resueltas = c.get(f"{BASE}/diferencias/", {"estado": "error_smartflex"}).json()["results"]
    assert [f["id"] for f in resueltas] == [solo.pk]
    assert (
        resueltas[0]["resuelta_por"] == "coc" and resueltas[0]["nota"] == "Duplicada" and resueltas[0]["acciones"] == []
    )
    assert c.get(f"{BASE}/diferencias/", {"vista": "todas"}).json()["count"] == 2
    r = c.get(f"{BASE}/diferencias/", {"clase": "otra", "desde": "2026-02-30"})
    assert r.status_code == 400 and set(r.json()["errores"]) == {"clase", "desde"}


def test_resolver_200_y_la_segunda_vez_409(api, u, esc):
    s = esc.solicitud("registrada")
    dif = anulada_en_smartflex(s)
    r = api(u.gestion_red).post(
        f"{BASE}/diferencias/{dif.pk}/resolver/", {"accion": "registrar_anulacion", "nota": "Visto"}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["estado"] == "anulacion_registrada" and r.json()["resuelta_por"] == "gestion_red"
    s.refresh_from_db()
    assert s.estado == "anulada"
    r = api(u.coc).post(
        f"{BASE}/diferencias/{dif.pk}/resolver/", {"accion": "error_smartflex", "nota": "x"}, format="json"
    )
    assert r.status_code == 409
    assert "ya fue resuelta por gestion_red" in r.json()["detail"]


@pytest.mark.parametrize(
    "cuerpo, campo",
    [
        ({"accion": "error_smartflex"}, "nota"),
        ({"accion": "error_smartflex", "nota": "   "}, "nota"),
        ({"accion": "borrar"}, "accion"),
        ({}, "accion"),
        ({"accion": "error_smartflex", "nota": "x", "extra": 1}, "extra"),
        ({"accion": "error_smartflex", "nota": "x" * 2001}, "nota"),
        ({"accion": "crear_caso"}, "accion"),
        ({"accion": "error_smartflex", "nota": "a\x00b"}, "nota"),
    ],
)
def test_resolver_400(cuerpo, campo, api, u, esc):
    dif = anulada_en_smartflex(esc.solicitud("registrada"))
    r = api(u.coc).post(f"{BASE}/diferencias/{dif.pk}/resolver/", cuerpo, format="json")
    assert r.status_code == 400, r.json()
    assert campo in r.json()["errores"], r.json()
    dif.refresh_from_db()
    assert dif.estado == "abierta"


def test_resolver_404_y_transicion_409(api, u, esc):
    c = api(u.coc)
    r = c.post(f"{BASE}/diferencias/99999999/resolver/", {"accion": "error_smartflex", "nota": "x"}, format="json")
    assert r.status_code == 404 and r.json()["errores"] == {}
    assert c.post(f"{BASE}/diferencias/x/resolver/", {}, format="json").status_code == 404
    o = esc.orden("reportada_coz")  # the OT is with the COZ: «anular» is refused by the path
    dif = anulada_en_smartflex(o.solicitud)
    r = c.post(f"{BASE}/diferencias/{dif.pk}/resolver/", {"accion": "registrar_anulacion"}, format="json")
    assert r.status_code == 409 and r.json()["detail"]
    dif.refresh_from_db()
    assert dif.estado == "abierta"


def test_crear_caso_con_zona_y_asesor_por_codigo(api, u, esc, zona):
    dif = sin_caso("SF-900055")
    c = api(u.gestion_red)
    r = c.post(f"{BASE}/diferencias/{dif.pk}/resolver/", {"accion": "crear_caso"}, format="json")
    assert r.status_code == 400 and {"zona", "asesor"} <= set(r.json()["errores"])
    r = c.post(
        f"{BASE}/diferencias/{dif.pk}/resolver/",
        {"accion": "crear_caso", "zona": "ZZ", "asesor": "asesor"},
        format="json",
    )
    assert (
        r.status_code == 400
        and r.json()["errores"] == {"zona": "«ZZ» no es una zona activa de la aplicación: indique su código o su id."}
        or "zona" in r.json()["errores"]
    )
    r = c.post(
        f"{BASE}/diferencias/{dif.pk}/resolver/",
        {"accion": "crear_caso", "zona": zona.codigo, "asesor": "asesor"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "caso_creado" and r.json()["solicitud_numero"] == "SF-900055"
    nueva = Solicitud.objects.get(numero_smartflex="SF-900055")
    assert (nueva.estado, nueva.zona, nueva.asesor) == ("anulada", zona, u.asesor)


# --- proposed re-entries ----------------------------------------------------------------------------------
def test_emparejamientos_vincular_descartar(api, u, esc):
    emp, otra = propuesta(esc, 80), propuesta(esc, 50)
    c = api(u.coc)
    lista = c.get(f"{BASE}/emparejamientos/").json()["results"]
    assert [(e["id"], e["nivel"]) for e in lista] == [(emp.pk, "alta"), (otra.pk, "media")]
    assert lista[0]["anulada"]["numero_smartflex"] == emp.anulada.numero_smartflex
    assert lista[0]["anulada"]["cancelada_at"] and lista[0]["motivos"] == ["Mismo documento (4455667)"]
    version = lista[0]["anulada"]["version"]
    r = c.post(f"{BASE}/emparejamientos/{emp.pk}/vincular/", {}, format="json", HTTP_IF_MATCH=f'"{version - 1}"')
    assert r.status_code == 409
    r = c.post(
        f"{BASE}/emparejamientos/{emp.pk}/vincular/",
        {"version": version},
        format="json",
        HTTP_IF_MATCH=f'"{version + 5}"',
    )
    assert r.status_code == 400 and "If-Match" in r.json()["errores"]
    r = c.post(f"{BASE}/emparejamientos/{emp.pk}/vincular/", {"version": version}, format="json")
    assert r.status_code == 200 and r.json()["estado"] == "vinculado" and r.json()["resuelto_por"] == "coc"
    emp.anulada.refresh_from_db()
    assert emp.anulada.estado == "redigitada"
    r = c.post(f"{BASE}/emparejamientos/{otra.pk}/descartar/", {"motivo": "Otro cliente"}, format="json")
    assert r.status_code == 200 and r.json()["estado"] == "descartado"
    assert "Descartada: Otro cliente" in r.json()["motivos"]
    r = c.post(f"{BASE}/emparejamientos/{otra.pk}/vincular/", {}, format="json")
    assert r.status_code == 409 and "ya fue descartada" in r.json()["detail"]
    assert c.get(f"{BASE}/emparejamientos/").json()["count"] == 0  # none waits
    assert c.get(f"{BASE}/emparejamientos/", {"estado": ["vinculado", "descartado"]}).json()["count"] == 2
    assert c.post(f"{BASE}/emparejamientos/99999999/descartar/", {}, format="json").status_code == 404
    r = c.post(f"{BASE}/emparejamientos/{otra.pk}/descartar/", {"motivo": "x", "otro": 1}, format="json")
    assert r.status_code == 400 and "otro" in r.json()["errores"]


# --- the status feed --------------------------------------------------------------------------------------
def test_subir_estados_202_y_seguir_el_progreso(api, u, esc, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    s = esc.solicitud("registrada")
    ayer = timezone.localtime(hace(days=1)).strftime("%d/%m/%Y %H:%M")
    contenido = (
        "\ufefftipo;numero;estado;fecha;motivo;usuario\r\n"
        f"solicitud;{s.numero_smartflex};ANULADA;{ayer};Desiste;sf.op\r\n"
        f"solicitud;SF-SOLO-9;anulado;{ayer};;sf.op\r\n"
    ).encode()
    c = api(u.coc)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"{BASE}/estados/", {"archivo": SimpleUploadedFile("estados.csv", contenido, "text/csv")})
    assert r.status_code == 202, r.json()
    datos = r.json()
    imp = ImportacionSmartflex.objects.get()
    assert datos["id"] == imp.pk and datos["url"].endswith(f"{BASE}/importaciones/{imp.pk}/") and datos["publicado"]
    assert r["Location"] == datos["url"]
    progreso = c.get(datos["url"]).json()
    assert progreso["clase"] == "estados" and progreso["terminada"] and progreso["etapa"] == "terminada", progreso
    assert progreso["total"] == 2 and progreso["diferencias"] == 2
    cifras = c.get(f"{BASE}/cifras/").json()
    assert cifras["faltantes"] == 2 and cifras["ultima_importacion"]["nombre"] == "estados.csv"
    assert cifras["conciliado_con"].startswith("Conciliado con el archivo estados.csv del ")
    # Who does not import does not read the job.
    assert api(u.jefe_division).get(datos["url"]).status_code == 403
    assert c.get(f"{BASE}/importaciones/99999999/").status_code == 404


def test_subir_estados_malos(api, u, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = api(u.gestion_red)
    r = c.post(f"{BASE}/estados/", {"archivo": SimpleUploadedFile("estados.pdf", b"%PDF")})
    assert r.status_code == 400 and "Suba un archivo .csv o .xlsx" in r.json()["errores"]["archivo"]
    r = c.post(f"{BASE}/estados/", {})
    assert r.status_code == 400 and "archivo" in r.json()["errores"]
    r = c.post(f"{BASE}/estados/", {"archivo": "texto"}, format="json")
    assert r.status_code in (400, 415)
    settings.ANULACIONES_IMPORTACION_MAX_MB = 1
    r = c.post(f"{BASE}/estados/", {"archivo": SimpleUploadedFile("e.csv", b"x" * (1024 * 1024 + 10))})
    assert r.status_code == 413 and "supera el máximo de 1 MB" in r.json()["errores"]["archivo"]
    assert not ImportacionSmartflex.objects.exists()


# --- figures -----------------------------------------------------------------------------------------------
def test_cifras(api, u, esc):
    anulada_en_smartflex(esc.solicitud("registrada"))
    c = api(u.jefe_division)
    datos = c.get(f"{BASE}/cifras/").json()
    assert datos["faltantes"] == 1 and datos["abiertas_por_clase"][C.ANULADA_EN_SMARTFLEX] == 1
    assert datos["ultima_importacion"] is None
    assert datos["conciliado_con"] == "Aún no se importó ningún archivo de estados de Smartflex"
    mes = timezone.localdate().strftime("%Y-%m")
    assert c.get(f"{BASE}/cifras/", {"mes": mes}).json()["detectadas"] == 1
    assert c.get(f"{BASE}/cifras/", {"mes": "2020-01"}).json()["detectadas"] == 0
    for malo in ("2026-13", "x", "2999-01"):
        r = c.get(f"{BASE}/cifras/", {"mes": malo})
        assert r.status_code == 400 and "mes" in r.json()["errores"], malo


# --- queries ------------------------------------------------------------------------------------------------
def test_listas_con_consultas_constantes(api, u, esc):
    c = api(u.gestion_red)

    def medir():
        res = []
        for url in (f"{BASE}/diferencias/", f"{BASE}/emparejamientos/", f"{BASE}/cifras/"):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            res.append(len(ctx.captured_queries))
        return res

    def filas(n):
        for _ in range(n):
            anulada_en_smartflex(esc.solicitud("registrada"))
            sin_caso(f"SF-SC-{next(_claves)}")
            propuesta(esc)

    filas(1)
    antes = medir()
    filas(29)
    assert medir() == antes


def test_operaciones_en_el_esquema(api, u):
    esquema = api(u.coc).get("/api/v1/schema/?format=json").json()
    rutas = esquema["paths"]
    for ruta, metodo in (
        ("/api/v1/smartflex/diferencias/", "get"),
        ("/api/v1/smartflex/diferencias/{id}/resolver/", "post"),
        ("/api/v1/smartflex/emparejamientos/", "get"),
        ("/api/v1/smartflex/emparejamientos/{id}/vincular/", "post"),
        ("/api/v1/smartflex/emparejamientos/{id}/descartar/", "post"),
        ("/api/v1/smartflex/estados/", "post"),
        ("/api/v1/smartflex/importaciones/{id}/", "get"),
        ("/api/v1/smartflex/cifras/", "get"),
    ):
        assert metodo in rutas[ruta], ruta
    assert "multipart/form-data" in rutas["/api/v1/smartflex/estados/"]["post"]["requestBody"]["content"]
    assert "202" in rutas["/api/v1/smartflex/estados/"]["post"]["responses"]
    assert "409" in rutas["/api/v1/smartflex/diferencias/{id}/resolver/"]["post"]["responses"]
