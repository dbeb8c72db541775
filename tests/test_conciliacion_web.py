"""The reconciliation page (issue 18): /smartflex/conciliacion/ for Gestión de Red and the COC (the jefe
de división reads it), its figures, the upload of a status feed, every decision on a difference and
on a proposed re-entry, the refusals (a Spanish message, what was typed kept, never a 500), the double
resolution (409), a constant number of queries, and the indicator's line saying as of which feed the
figure is reconciled.

Differences and proposals are written here as the services write them (an EstadoSmartflex row and its
Diferencia; an Emparejamiento), on real Solicitudes built through the transition path; the end-to-end
test uploads a realistic feed through the page and lets the import (run in process) find them."""

import itertools
import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anulaciones.models import (
    Diferencia,
    Emparejamiento,
    EstadoSmartflex,
    ImportacionSmartflex,
    RegistroAuditoria,
    Solicitud,
)
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

C = Diferencia.Clase
URL = "/smartflex/conciliacion/"
_claves = itertools.count(1)
TODOS = list(Rol)
ACTUAN = {Rol.GESTION_RED, Rol.COC}


# --- building what the services write ---------------------------------------------------------------
def hace(**delta):
    return (timezone.now() - timedelta(**delta)).replace(second=0, microsecond=0)


def fuente(numero, estado="anulada", *, objeto="solicitud", fecha=None, solicitud=None, **extra):
    return EstadoSmartflex.objects.create(
        objeto=objeto,
        numero=numero,
        estado=estado,
        fecha=fecha or hace(days=1),
        solicitud=solicitud,
        clave=f"clave-{next(_claves)}",
        **extra,
    )


def anulada_en_smartflex(s, **extra):
    f = fuente(s.numero_smartflex, solicitud=s, motivo="Cliente desiste", usuario="sf.operador1", **extra)
    return Diferencia.objects.create(fuente=f, clase=C.ANULADA_EN_SMARTFLEX, solicitud=s, estado_aplicacion=s.estado)


def sin_caso(numero, **extra):
    datos = {"zona": "Z1", "asesor": "asesor", "cliente_nombre": "Rosa Quispe", "direccion": "Calle Sucre 45"}
    datos.update(extra)
    return Diferencia.objects.create(fuente=fuente(numero, **datos), clase=C.SIN_CASO)


def propuesta(esc, u, confianza=80):
    anulada = esc.solicitud("anulada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    nueva = esc.solicitud("registrada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    return Emparejamiento.objects.create(
        anulada=anulada,
        nueva=nueva,
        confianza=confianza,
        motivos=["Mismo documento (4455667)", "Misma dirección (Av. Arce 100)"],
    )


def html(r):
    return r.content.decode()


def texto(pagina, ident):
    m = re.search(rf'<(\w+)[^>]*\bid="{ident}"[^>]*>(.*?)</\1>', pagina, re.S)
    assert m, ident
    return " ".join(unescape(re.sub(r"<[^>]+>", "", m.group(2))).split())


def mensajes(pagina):
    """The texts of the page's messages (messages framework), in order."""
    bloque = re.search(r'<ul class="mensajes">(.*?)</ul>', pagina, re.S)
    return (
        [
            " ".join(unescape(re.sub(r"<[^>]+>", "", m)).split())
            for m in re.findall(r"<li[^>]*>(.*?)</li>", bloque.group(1), re.S)
        ]
        if bloque
        else []
    )


@pytest.fixture
def gr(client, u):
    client.force_login(u.gestion_red)
    return client


# --- who opens it ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("rol", TODOS)
def test_la_pagina_por_rol(rol, client, u, esc):
    s = esc.solicitud("registrada")
    anulada_en_smartflex(s)
    client.force_login(u.por_rol[rol])
    r = client.get(URL)
    if rol in ACTUAN:
        assert r.status_code == 200
        pagina = html(r)
        assert 'id="form-estados"' in pagina and 'id="en-bloque"' in pagina
        assert 'value="registrar_anulacion"' in pagina
    elif rol == Rol.JEFE_DIVISION:
        assert r.status_code == 200
        pagina = html(r)
        assert s.numero_smartflex in pagina and "Anulaciones de Smartflex que faltan" in pagina
        assert 'id="form-estados"' not in pagina and 'id="en-bloque"' not in pagina
        assert '<form method="post" action="/smartflex/' not in pagina and "Solo lectura" in pagina
    else:
        assert r.status_code == 403
        assert "Solo Gestión de Red y el COC concilian con Smartflex" in html(r)


@pytest.mark.parametrize("rol", TODOS)
def test_las_decisiones_solo_gestion_de_red_y_coc(rol, client, u, esc):
    dif, otra = (anulada_en_smartflex(esc.solicitud("registrada")) for _ in range(2))
    emp = propuesta(esc, u)
    client.force_login(u.por_rol[rol])
    respuestas = [
        client.post(reverse("conciliacion_resolver"), {"diferencia": dif.pk, "accion": "registrar_anulacion"}),
        client.post(reverse("conciliacion_en_bloque"), {"ids": [otra.pk], "accion": "registrar_anulacion"}),
        client.post(reverse("conciliacion_emparejamiento"), {"emparejamiento": emp.pk, "decision": "descartar"}),
        client.post(reverse("conciliacion_subir"), {"archivo": SimpleUploadedFile("e.csv", b"numero\n")}),
    ]
    if rol in ACTUAN:
        assert [r.status_code for r in respuestas[:3]] == [302, 302, 302]
    else:
        assert [r.status_code for r in respuestas] == [403] * 4, rol
        dif.refresh_from_db()
        emp.refresh_from_db()
        assert dif.estado == "abierta" and emp.estado == "propuesto"
        assert not ImportacionSmartflex.objects.exists()
        if rol == Rol.JEFE_DIVISION:
            assert "Solo Gestión de Red y el COC resuelven" in html(respuestas[0])


def test_anonimo_va_al_login(client):
    for url in (URL, reverse("conciliacion_muestra")):
        r = client.get(url)
        assert r.status_code == 302 and "/cuentas/login/" in r["Location"]
    r = client.post(reverse("conciliacion_resolver"), {"diferencia": 1, "accion": "error_smartflex"})
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]


def test_en_la_barra_de_gestion_de_red_coc_y_jefe(client, u):
    for quien, ve in ((u.gestion_red, True), (u.coc, True), (u.jefe_division, True), (u.asesor, False)):
        client.force_login(quien)
        assert (f'<a href="{URL}" data-nav="conciliacion"' in html(client.get("/"))) is ve


# --- the figures -----------------------------------------------------------------------------------------
def test_cifras_sin_archivo_y_con_archivo(gr, esc, u):
    pagina = html(gr.get(URL))
    assert texto(pagina, "conciliado-con") == "Aún no se importó ningún archivo de estados de Smartflex."
    assert texto(pagina, "cifra-faltantes") == "Anulaciones de Smartflex que faltan en la aplicación: 0 (meta: 0)"
    s = esc.solicitud("registrada")
    anulada_en_smartflex(s)
    sin_caso("SF-900001")
    imp = ImportacionSmartflex.objects.create(
        clase="estados",
        archivo="importaciones/estados.csv",
        nombre="estados-noviembre.csv",
        usuario=u.gestion_red,
        etapa="terminada",
        terminado_at=timezone.now(),
    )
    pagina = html(gr.get(URL))
    cuando = timezone.localtime(imp.terminado_at)
    hasta = timezone.localtime(EstadoSmartflex.objects.order_by("-fecha").first().fecha)
    assert texto(pagina, "conciliado-con") == (
        f"Conciliado con el archivo estados-noviembre.csv del {cuando:%d/%m/%Y %H:%M}; "
        f"estados de Smartflex hasta {hasta:%d/%m/%Y}."
    )
    assert texto(pagina, "cifra-faltantes") == "Anulaciones de Smartflex que faltan en la aplicación: 2 (meta: 0)"
    assert texto(pagina, "cifra-abiertas").startswith("Diferencias abiertas: 2")
    por_clase = dict(re.findall(r'<li data-clase="(\w+)">[^<]*: (\d+)</li>', pagina))
    assert por_clase == {
        C.ANULADA_EN_SMARTFLEX: "1",
        C.SIN_CASO: "1",
        C.ANULADA_EN_APLICACION: "0",
        C.EJECUTADA_EN_SMARTFLEX: "0",
    }
    assert re.match(
        r"En \w+ de \d{4}: 2 detectadas y 0 resueltas, 0 de ellas automáticamente", texto(pagina, "cifra-periodo")
    )


def test_mes_mal_escrito_dice_por_que_y_muestra_el_actual(gr):
    r = gr.get(URL, {"mes": "2026-13"})
    assert r.status_code == 200
    assert "Indique el mes como AAAA-MM" in html(r) and "Se muestra el mes en curso." in html(r)
    r = gr.get(URL, {"mes": "2019-03"})
    assert "Cifras de marzo de 2019" in html(r)


# --- one difference, one action ---------------------------------------------------------------------------
def test_registrar_la_anulacion_de_smartflex(gr, esc, u):
    s = esc.solicitud("registrada")
    dif = anulada_en_smartflex(s)
    pagina = html(gr.get(URL))
    assert f'id="diferencia-{dif.pk}"' in pagina
    fila = texto(pagina, f"diferencia-{dif.pk}")
    assert "Anulada" in fila and "sf.operador1" in fila and "Cliente desiste" in fila and "Registrada" in fila
    assert f'href="/solicitudes/{s.pk}/"' in pagina
    r = gr.post(
        reverse("conciliacion_resolver"),
        {
            "diferencia": dif.pk,
            "accion": "registrar_anulacion",
            "nota": "Confirmado con el cliente",
            "volver": "clase=anulada_en_smartflex",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"{URL}?clase=anulada_en_smartflex"
    s.refresh_from_db()
    dif.refresh_from_db()
    assert s.estado == "anulada" and dif.estado == "anulacion_registrada" and dif.resuelta_por == u.gestion_red
    pagina = html(gr.get(r["Location"]))
    assert any(f"Solicitud {s.numero_smartflex}: anulación registrada en la aplicación." in m for m in mensajes(pagina))
    assert f'id="diferencia-{dif.pk}"' not in pagina  # no longer open
    assert texto(pagina, "cifra-faltantes").endswith("0 (meta: 0)")
    resueltas = html(gr.get(URL, {"vista": "resueltas"}))
    fila = texto(resueltas, f"diferencia-{dif.pk}")
    assert (
        "Anulación registrada en la aplicación" in fila
        and "gestion_red" in fila
        and "Confirmado con el cliente" in fila
    )


def test_error_de_smartflex_sin_nota_vuelve_con_el_formulario_abierto(gr, esc):
    s = esc.solicitud("en_instalacion")
    dif = anulada_en_smartflex(s)
    r = gr.post(reverse("conciliacion_resolver"), {"diferencia": dif.pk, "accion": "error_smartflex", "nota": "  "})
    assert r.status_code == 400
    pagina = html(r)
    assert "Explique por qué el dato de Smartflex es el equivocado." in " ".join(mensajes(pagina))
    assert re.search(r'<details class="accion-conciliacion" open><summary>Marcar como error de Smartflex', pagina)
    dif.refresh_from_db()
    assert dif.estado == "abierta"
    r = gr.post(
        reverse("conciliacion_resolver"),
        {"diferencia": dif.pk, "accion": "error_smartflex", "nota": "x" * 2001},
    )
    assert r.status_code == 400 and "Escriba a lo sumo 2000 caracteres" in html(r)
    assert "x" * 2001 in html(r)  # what was typed is kept
    r = gr.post(
        reverse("conciliacion_resolver"),
        {"diferencia": dif.pk, "accion": "error_smartflex", "nota": "La OT sigue en campo"},
    )
    assert r.status_code == 302
    dif.refresh_from_db()
    assert dif.estado == "error_smartflex" and dif.nota == "La OT sigue en campo"


def test_crear_caso_pide_zona_y_asesor_si_smartflex_no_los_dice(gr, esc, u, zona):
    dif = sin_caso("SF-900077", zona="ZZ9", asesor="")
    pagina = html(gr.get(URL))
    fila = re.search(rf'<tr id="diferencia-{dif.pk}".*?</tr>', pagina, re.S).group(0)
    assert "Smartflex indica «ZZ9»" in fila and 'name="zona"' in fila and 'name="asesor"' in fila
    # Without them: refused, the form open with the zone chosen kept.
    r = gr.post(
        reverse("conciliacion_resolver"),
        {"diferencia": dif.pk, "accion": "crear_caso", "zona": zona.pk, "nota": "Caso de Smartflex"},
    )
    assert r.status_code == 400
    pagina = html(r)
    assert "Elija el asesor de la solicitud: Smartflex no indica el asesor." in " ".join(mensajes(pagina))
    fila = re.search(rf'<tr id="diferencia-{dif.pk}".*?</tr>', pagina, re.S).group(0)
    assert f'<option value="{zona.pk}" selected>' in fila and "Caso de Smartflex" in fila
    r = gr.post(
        reverse("conciliacion_resolver"),
        {"diferencia": dif.pk, "accion": "crear_caso", "zona": zona.pk, "asesor": u.asesor.pk},
    )
    assert r.status_code == 302
    nueva = Solicitud.objects.get(numero_smartflex="SF-900077")
    assert nueva.estado == "anulada" and nueva.zona == zona and nueva.asesor == u.asesor


def test_dos_personas_resuelven_la_misma_diferencia(client, u, esc):
    s = esc.solicitud("registrada")
    dif = anulada_en_smartflex(s)
    client.force_login(u.coc)
    assert (
        client.post(
            reverse("conciliacion_resolver"), {"diferencia": dif.pk, "accion": "registrar_anulacion"}
        ).status_code
        == 302
    )
    client.force_login(u.gestion_red)
    r = client.post(
        reverse("conciliacion_resolver"),
        {"diferencia": dif.pk, "accion": "error_smartflex", "nota": "No, sigue vigente"},
    )
    assert r.status_code == 409
    mensaje = mensajes(html(r))[-1]
    assert mensaje.startswith("Otra persona ya resolvió esta diferencia: ") and "ya fue resuelta por coc" in mensaje
    dif.refresh_from_db()
    assert dif.estado == "anulacion_registrada" and dif.resuelta_por == u.coc
    assert RegistroAuditoria.objects.filter(transicion="anular", object_id=s.pk).count() == 1


@pytest.mark.parametrize(
    "datos, estado, mensaje",
    [
        ({"diferencia": "", "accion": "registrar_anulacion"}, 400, "Elija la diferencia que resuelve."),
        ({"diferencia": "abc", "accion": "registrar_anulacion"}, 400, "Elija la diferencia que resuelve."),
        ({"diferencia": "²", "accion": "registrar_anulacion"}, 400, "Elija la diferencia que resuelve."),
        ({"diferencia": "99999999", "accion": "registrar_anulacion"}, 404, "No existe la diferencia 99999999"),
        ({"accion": "borrar_todo"}, 400, "Acción «borrar_todo» desconocida."),
        ({"accion": "crear_caso"}, 400, "no resuelve una diferencia «Anulada en Smartflex, vigente en la aplicación»"),
        ({"accion": "registrar_anulacion", "zona": "<b>"}, 400, "Elija una zona de la lista."),
        ({"accion": "registrar_anulacion", "volver": "page=\x00&sort=-x"}, 302, None),
    ],
)
def test_entradas_malas_no_son_500(gr, esc, datos, estado, mensaje):
    s = esc.solicitud("registrada")
    dif = anulada_en_smartflex(s)
    datos = {"diferencia": dif.pk, **datos}
    r = gr.post(reverse("conciliacion_resolver"), datos)
    assert r.status_code == estado
    if mensaje:
        assert mensaje in " ".join(mensajes(html(r)))


def test_la_transicion_rechaza_y_la_diferencia_queda_abierta(gr, esc, u):
    """An OT the técnico reported, waiting at the COZ: «anular» is refused by the path (409): the page
    says why and nothing changed."""
    o = esc.orden("reportada_coz")
    dif = anulada_en_smartflex(o.solicitud)
    r = gr.post(reverse("conciliacion_resolver"), {"diferencia": dif.pk, "accion": "registrar_anulacion"})
    assert r.status_code == 409
    assert mensajes(html(r)) and "Otra persona" not in " ".join(mensajes(html(r)))
    dif.refresh_from_db()
    assert dif.estado == "abierta"


# --- in bulk ----------------------------------------------------------------------------------------------------
def test_en_bloque_dice_cuales_y_por_que_no(gr, esc):
    a, b = esc.solicitud("registrada"), esc.solicitud("observada")
    da, db = anulada_en_smartflex(a), anulada_en_smartflex(b)
    dc = sin_caso("SF-900088")  # «registrar la anulación» does not resolve it
    r = gr.post(
        reverse("conciliacion_en_bloque"),
        {"ids": [da.pk, db.pk, dc.pk, "x"], "accion": "registrar_anulacion", "volver": "vista=abiertas"},
    )
    assert r.status_code == 302
    pagina = html(gr.get(r["Location"]))
    todos = " ".join(mensajes(pagina))
    assert (
        f"«Registrar la anulación de Smartflex»: 2 diferencias resueltas ({a.numero_smartflex}, {b.numero_smartflex})."
        in todos
    )
    assert "No se resolvieron 1 diferencia: N° SF-900088: «Registrar la anulación de Smartflex» no resuelve" in todos
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.estado == b.estado == "anulada"
    dc.refresh_from_db()
    assert dc.estado == "abierta"


def test_en_bloque_sin_nada_hecho_vuelve_con_lo_marcado(gr, esc):
    a, b = esc.solicitud("registrada"), esc.solicitud("registrada")
    da, db = anulada_en_smartflex(a), anulada_en_smartflex(b)
    r = gr.post(reverse("conciliacion_en_bloque"), {"ids": [da.pk, db.pk], "accion": "error_smartflex", "nota": ""})
    assert r.status_code == 409
    pagina = html(r)
    assert "No se resolvieron 2 diferencias" in " ".join(mensajes(pagina))
    for d in (da, db):
        assert f'id="marcar-{d.pk}" checked' in pagina
    assert '<option value="error_smartflex" selected>' in pagina
    r = gr.post(reverse("conciliacion_en_bloque"), {"accion": "error_smartflex", "nota": "x"})
    assert r.status_code == 400 and "Marque al menos una diferencia" in html(r)
    r = gr.post(reverse("conciliacion_en_bloque"), {"ids": [da.pk], "accion": ""})
    assert r.status_code == 400 and "Elija la acción" in html(r)


# --- proposed re-entries ----------------------------------------------------------------------------------------
def test_vincular_y_descartar(gr, esc, u):
    emp = propuesta(esc, u, confianza=80)
    otra = propuesta(esc, u, confianza=50)
    pagina = html(gr.get(URL))
    fila = texto(pagina, f"emparejamiento-{emp.pk}")
    assert emp.anulada.numero_smartflex in fila and emp.nueva.numero_smartflex in fila
    assert "Alta · 80 %" in fila and "Mismo documento (4455667)" in fila and "después de la anulación" in fila
    assert "Media · 50 %" in texto(pagina, f"emparejamiento-{otra.pk}")
    r = gr.post(
        reverse("conciliacion_emparejamiento"),
        {"emparejamiento": emp.pk, "decision": "vincular", "version": emp.anulada.version},
    )
    assert r.status_code == 302, mensajes(html(r))
    emp.refresh_from_db()
    emp.anulada.refresh_from_db()
    assert emp.estado == "vinculado" and emp.anulada.estado == "redigitada"
    assert emp.anulada.reemplazada_por_id == emp.nueva_id
    pagina = html(gr.get(URL))
    assert "Re-digitación vinculada" in " ".join(mensajes(pagina))
    assert f'id="emparejamiento-{emp.pk}"' not in pagina
    r = gr.post(
        reverse("conciliacion_emparejamiento"),
        {"emparejamiento": otra.pk, "decision": "descartar", "motivo": "Otro cliente"},
    )
    assert r.status_code == 302
    otra.refresh_from_db()
    assert otra.estado == "descartado" and "Descartada: Otro cliente" in otra.motivos
    # Again: someone already decided it.
    r = gr.post(reverse("conciliacion_emparejamiento"), {"emparejamiento": otra.pk, "decision": "vincular"})
    assert r.status_code == 409 and "ya fue descartada" in html(r)
    r = gr.post(reverse("conciliacion_emparejamiento"), {"emparejamiento": otra.pk, "decision": "x"})
    assert r.status_code == 400 and "Elija «Vincular» o «Descartar»." in html(r)


def test_vincular_con_version_vieja_es_conflicto(gr, esc, u):
    emp = propuesta(esc, u)
    r = gr.post(
        reverse("conciliacion_emparejamiento"),
        {"emparejamiento": emp.pk, "decision": "vincular", "version": emp.anulada.version - 1},
    )
    assert r.status_code == 409
    emp.refresh_from_db()
    assert emp.estado == "propuesto"


# --- the status feed --------------------------------------------------------------------------------------------
FEED = (
    "tipo;numero;estado;fecha;motivo;usuario;cliente_documento;cliente_telefono;direccion;cliente_nombre;zona;asesor\r\n"
    "solicitud;{vigente};Anulada;{ayer};Cliente desiste;sf.operador1;;;;;;\r\n"
    "solicitud;{vigente};Anulada;{ayer};Cliente desiste;sf.operador1;;;;;;\r\n"
    "solicitud;SF-SOLO-1;Anulada;{ayer};Sin cobertura;sf.operador1;6234567;73456789;Calle Sagárnaga 210;Rosa Condori;Z1;asesor\r\n"
    "solicitud;SF-NO-EXISTE;Registrada;{ayer};;sf.operador2;;;;;;\r\n"
    "\r\n"
)


def test_subir_un_archivo_de_estados_y_resolver(gr, esc, u, settings, tmp_path, django_capture_on_commit_callbacks):
    """End to end: a Windows-1252 feed with «;», dd/mm/yyyy, a repeated row, an unknown number and a
    trailing empty line, uploaded through the page; the import runs (in process), the differences are
    listed, one is resolved, the figure changes."""
    settings.MEDIA_ROOT = tmp_path
    s = esc.solicitud("registrada")
    ayer = timezone.localtime(hace(days=1)).strftime("%d/%m/%Y %H:%M")
    contenido = FEED.format(vigente=s.numero_smartflex, ayer=ayer).encode("cp1252")
    with django_capture_on_commit_callbacks(execute=True):
        r = gr.post(
            reverse("conciliacion_subir"),
            {"archivo": SimpleUploadedFile("estados-nov.csv", contenido, "text/csv"), "aceptar_validas": ""},
        )
    imp = ImportacionSmartflex.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("importacion", args=[imp.pk])
    imp.refresh_from_db()
    assert imp.clase == "estados" and imp.etapa == "terminada", (imp.etapa, imp.mensaje, imp.errores)
    progreso = html(gr.get(r["Location"]))  # the import page, with what a status feed found
    assert "Terminada" in progreso and '<dd id="imp-diferencias">2</dd>' in progreso
    assert 'id="ir-conciliacion"' in progreso and "Volver a la conciliación con Smartflex" in progreso
    pagina = html(gr.get(URL))
    assert texto(pagina, "conciliado-con").startswith("Conciliado con el archivo estados-nov.csv del ")
    assert texto(pagina, "cifra-faltantes").endswith("2 (meta: 0)")
    dif = Diferencia.objects.get(fuente__numero=s.numero_smartflex)
    solo = Diferencia.objects.get(fuente__numero="SF-SOLO-1")
    assert (dif.clase, solo.clase) == (C.ANULADA_EN_SMARTFLEX, C.SIN_CASO)
    assert f'id="diferencia-{dif.pk}"' in pagina and f'id="diferencia-{solo.pk}"' in pagina
    r = gr.post(reverse("conciliacion_resolver"), {"diferencia": solo.pk, "accion": "crear_caso"})
    assert r.status_code == 302
    pagina = html(gr.get(URL))
    assert texto(pagina, "cifra-faltantes").endswith("1 (meta: 0)")
    assert Solicitud.objects.get(numero_smartflex="SF-SOLO-1").estado == "anulada"
    # The indicator says the same, as of the same feed.
    gr.force_login(u.jefe_division)
    indicador = texto(html(gr.get("/indicador/")), "conciliacion")
    assert indicador.startswith("Cifra conciliada con Smartflex: archivo estados-nov.csv del ")
    assert "Anulaciones de Smartflex que faltan: 1." in indicador and "hasta 1 caso anulado" in indicador


def test_subir_archivo_malo(gr, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    r = gr.post(
        reverse("conciliacion_subir"),
        {"archivo": SimpleUploadedFile("estados.pdf", b"%PDF-1.4"), "aceptar_validas": "on"},
    )
    assert r.status_code == 400
    pagina = html(r)
    assert (
        "Suba un archivo .csv o .xlsx" in pagina and 'name="aceptar_validas" id="id_aceptar_validas" checked' in pagina
    )
    r = gr.post(reverse("conciliacion_subir"), {})
    assert r.status_code == 400 and "Este campo es requerido." in html(r)
    settings.ANULACIONES_IMPORTACION_MAX_MB = 1
    grande = SimpleUploadedFile("estados.csv", b"numero;estado;fecha\n" + b"x" * (1024 * 1024 + 10))
    r = gr.post(reverse("conciliacion_subir"), {"archivo": grande})
    assert r.status_code == 413 and "supera el máximo de 1 MB" in html(r)
    assert not ImportacionSmartflex.objects.exists()
    assert gr.get(reverse("conciliacion_subir")).status_code == 302  # a GET goes to the page


def test_muestra_del_archivo_de_estados(gr):
    from anulaciones import conciliacion

    r = gr.get(reverse("conciliacion_muestra"))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    cabecera = b"".join(r.streaming_content).decode("utf-8").splitlines()[0].split(";")
    assert [conciliacion.nombre_de_columna(c) for c in cabecera] == conciliacion.COLUMNAS
    assert 'href="/smartflex/conciliacion/muestra.csv"' in html(gr.get(URL))


# --- queries -----------------------------------------------------------------------------------------------------
def _consultas(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url, params or {})
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_consultas_constantes_con_1_y_30_filas(client, u, esc):
    def filas(n):
        for _ in range(n):
            s = esc.solicitud("registrada")
            anulada_en_smartflex(s)
            sin_caso(f"SF-SC-{next(_claves)}", zona="", asesor="")
            propuesta(esc, u)

    filas(1)
    medidas = {}
    for quien in (u.gestion_red, u.jefe_division):
        client.force_login(quien)
        medidas[quien.username] = [
            _consultas(client, URL),
            _consultas(client, URL, {"vista": "todas", "sort": "-numero"}),
        ]
    filas(29)
    for quien in (u.gestion_red, u.jefe_division):
        client.force_login(quien)
        despues = [_consultas(client, URL), _consultas(client, URL, {"vista": "todas", "sort": "-numero"})]
        assert despues == medidas[quien.username], (quien.username, medidas[quien.username], despues)
    assert max(medidas["gestion_red"]) <= 30, medidas
    # Every row of the page is drawn (25 per page) with its forms.
    pagina = html(client.get(URL))
    assert len(re.findall(r'<tr id="diferencia-', pagina)) == 25
    assert 'rel="next"' in pagina


# --- the indicator ------------------------------------------------------------------------------------------------
def test_el_indicador_dice_si_la_cifra_esta_conciliada(client, u, esc):
    client.force_login(u.jefe_division)
    pagina = html(client.get("/indicador/"))
    assert texto(pagina, "conciliacion").startswith(
        "Cifra sin conciliar: aún no se importó un archivo de estados de Smartflex."
    )
    ImportacionSmartflex.objects.create(
        clase="estados",
        archivo="x.csv",
        nombre="estados.csv",
        usuario=u.coc,
        etapa="terminada",
        terminado_at=timezone.now(),
    )
    s = esc.solicitud("registrada")
    anulada_en_smartflex(s)
    pagina = html(client.get("/indicador/"))
    linea = texto(pagina, "conciliacion")
    assert "Cifra conciliada con Smartflex: archivo estados.csv del " in linea
    assert "Anulaciones de Smartflex que faltan: 1." in linea
    assert "el indicador puede estar por encima del real: le faltarían hasta 1 caso anulado." in linea
    assert "Ver la conciliación con Smartflex" in linea  # the jefe reads it
    client.force_login(u.coc)
    linea = texto(html(client.get("/indicador/")), "conciliacion")
    assert "Resolverlas en la conciliación con Smartflex" in linea
    datos = client.get("/indicador.json").json()["conciliacion"]
    assert datos["faltantes"] == 1 and datos["archivo"] == "estados.csv" and datos["conciliada"] is True
