"""The indicator report (III.2): hand-computed cases built through the transition path."""

import json
import re
from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import Solicitud
from anulaciones.reports import indicador as ind
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

LA_PAZ = ZoneInfo("America/La_Paz")


@pytest.fixture
def reloj(monkeypatch):
    """Set the wall clock the transition path reads (timezone.now), in local time."""

    def fijar(*args):
        instante = datetime(*args, tzinfo=LA_PAZ)
        monkeypatch.setattr(timezone, "now", lambda: instante)
        return instante

    return fijar


@pytest.fixture
def jefe(client, u):
    client.force_login(u.jefe_division)
    return client


def observada(esc, **extra):
    return esc.solicitud("observada", **extra)


JUSTIFICACION = "El cliente pidió anular por escrito"


def anulada(esc, u, **extra):
    """Observed, then cancelled with no contact attempt: 5.2 asks for the justification."""
    s = esc.solicitud("observada", **extra)
    T.aplicar(s, "anular", u.gestion_red, motivo="Cliente desiste", justificacion=JUSTIFICACION)
    return s


def mes_actual():
    return ind.Periodo.actual()


def test_40_probables_2_anulados_es_95_observado(esc, u, jefe):
    for _ in range(38):
        observada(esc)
    for _ in range(2):
        anulada(esc, u)
    datos = ind.informe(mes_actual())
    assert datos["total"]["probables"] == 40
    assert datos["total"]["anulados"] == 2
    assert datos["total"]["no_anulados"] == 38
    assert datos["total"]["abiertos"] == 38  # the 38 observed are still open: a provisional figure
    assert datos["total"]["indicador"] == {
        "valor": 95.0,
        "veredicto": "observado",
        "texto": "95,00 %",
        "provisional": True,
        "rango": {"minimo": 0.0, "maximo": 95.0, "texto": "entre 0,00 % y 95,00 %", "veredicto_minimo": "observado"},
    }
    html = jefe.get(reverse("indicador")).content.decode()
    assert re.search(r'id="valor-indicador">95,00 %<', html)
    assert "✘ Observado" in html
    assert "provisional: 38 casos abiertos; entre 0,00 % y 95,00 %" in html


def test_40_probables_1_anulado_es_97_5_aceptado(esc, u, jefe):
    for _ in range(39):
        observada(esc)
    anulada(esc, u)
    assert ind.informe(mes_actual())["total"]["indicador"]["valor"] == 97.5
    html = jefe.get(reverse("indicador")).content.decode()
    assert re.search(r'id="valor-indicador">97,50 %<', html)
    assert "✔ Aceptado" in html


def test_umbral_es_un_setting(esc, u, settings):
    for _ in range(39):
        observada(esc)
    anulada(esc, u)
    settings.ANULACIONES_UMBRAL_INDICADOR = 97.5
    assert ind.informe(mes_actual())["total"]["indicador"]["veredicto"] == "observado"  # 97.5 is not > 97.5
    settings.ANULACIONES_UMBRAL_INDICADOR = 97
    assert ind.informe(mes_actual())["total"]["indicador"]["veredicto"] == "aceptado"


def test_caso_redigitado_no_es_anulado_y_cuenta_una_vez(esc, u):
    s = esc.solicitud("redigitada")
    assert Solicitud.objects.filter(caso=s.caso).count() == 2
    assert s.orden.estado == "anulada"  # the old OT was cancelled for the re-digitation
    total = ind.informe(mes_actual())["total"]
    assert (total["probables"], total["anulados"], total["abiertos"]) == (1, 0, 1)
    # The new Solicitud carries the case: once it is installed, the case is closed, not anulado.
    nueva = s.reemplazada_por
    T.aplicar(nueva, "asignar_instalacion", u.gestion_red)
    nueva.refresh_from_db()
    T.aplicar(nueva.orden, "ejecutar", u.tecnico)
    total = ind.informe(mes_actual())["total"]
    assert (total["probables"], total["anulados"], total["abiertos"]) == (1, 0, 0)


def test_caso_pendiente_de_redigitacion_es_anulado_hasta_que_se_registre(esc, u):
    """procedure.md (changed): a case in pendiente_redigitacion counts as anulado until its
    re-digitation is registered (it used to count as open, not anulado)."""
    s = esc.solicitud("pendiente_redigitacion")
    total = ind.informe(mes_actual())["total"]
    assert (total["probables"], total["anulados"], total["abiertos"]) == (1, 1, 0)
    T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s))
    total = ind.informe(mes_actual())["total"]
    assert (total["probables"], total["anulados"], total["abiertos"]) == (1, 0, 1)


def test_caso_redigitado_y_luego_anulado_es_anulado(esc, u):
    s = esc.solicitud("redigitada")
    nueva = s.reemplazada_por
    T.aplicar(nueva, "anular", u.coc, motivo="Sin cobertura", justificacion=JUSTIFICACION)
    total = ind.informe(mes_actual())["total"]
    assert (total["probables"], total["anulados"]) == (1, 1)


def test_ot_anulada_por_el_tecnico_hace_anulado_el_caso(esc, u):
    o = esc.orden("en_coc")
    T.aplicar(o, "ratificar_anulacion", u.coc, motivo="Cliente no ubicable")
    datos = ind.informe(mes_actual())
    assert (datos["total"]["probables"], datos["total"]["anulados"]) == (1, 1)
    assert [f["valor"] for f in datos["desgloses"]["area"]["filas"]] == [Rol.TECNICO]


def test_caso_observado_dos_veces_cuenta_una_vez(esc, u):
    s = esc.solicitud("corregida")
    T.aplicar(s, "observar", u.coc, causa="caja_nap", detalle="Caja llena")
    assert s.caso.observaciones.count() == 2
    datos = ind.informe(mes_actual())
    assert datos["total"]["probables"] == 1
    # Area and cause of the case are those of its first observation.
    assert [f["valor"] for f in datos["desgloses"]["area"]["filas"]] == [Rol.GESTION_RED]
    assert [f["valor"] for f in datos["desgloses"]["causa"]["filas"]] == ["calle"]
    # The Pareto counts every observation, and each case once per cause.
    assert {(f["causa"], f["observaciones"], f["casos"]) for f in datos["pareto"]} == {
        ("calle", 1, 1),
        ("caja_nap", 1, 1),
    }


def test_caso_observado_en_marzo_y_anulado_en_abril_cuenta_en_marzo(esc, u, reloj, jefe):
    reloj(2026, 3, 20, 10, 0)
    s = observada(esc)
    reloj(2026, 4, 2, 9, 0)
    T.aplicar(s, "anular", u.gestion_red, motivo="Cliente desiste", justificacion=JUSTIFICACION)
    marzo, abril = ind.Periodo.mes(2026, 3), ind.Periodo.mes(2026, 4)
    assert ind.informe(marzo)["total"]["anulados"] == 1
    assert ind.informe(abril)["total"]["probables"] == 0
    # The trend seen from April shows March's case in March.
    tendencia = {f["mes"]: f for f in ind.informe(abril)["tendencia"]}
    assert (tendencia["2026-03"]["probables"], tendencia["2026-03"]["anulados"]) == (1, 1)
    assert tendencia["2026-04"]["indicador"]["veredicto"] == "sin casos"
    html = jefe.get(reverse("indicador"), {"mes": "2026-04"}).content.decode()
    assert "Observada el 3/3 y anulada el 5/4 → probable de marzo, anulado." in html  # the definitions table


def test_limite_del_periodo_es_la_medianoche_local(esc, reloj):
    reloj(2026, 3, 31, 23, 59, 59)  # 2026-04-01 03:59:59 UTC: still March in La Paz
    observada(esc)
    reloj(2026, 4, 1, 0, 0, 0)
    observada(esc)
    reloj(2026, 4, 30, 23, 59, 59)
    observada(esc)
    reloj(2026, 5, 1, 0, 0, 0)
    observada(esc)
    assert ind.informe(ind.Periodo.mes(2026, 3))["total"]["probables"] == 1
    assert ind.informe(ind.Periodo.mes(2026, 4))["total"]["probables"] == 2
    assert ind.informe(ind.Periodo(date(2026, 4, 1), date(2026, 4, 1)))["total"]["probables"] == 1
    assert ind.informe(ind.Periodo(date(2026, 3, 31), date(2026, 5, 1)))["total"]["probables"] == 4


def test_periodo_vacio_muestra_sin_casos(jefe, u):
    datos = ind.informe(ind.Periodo.mes(2025, 1))
    assert datos["total"]["indicador"] == {
        "valor": None,
        "veredicto": "sin casos",
        "texto": "sin casos",
        "provisional": False,
        "rango": None,
    }
    assert datos["total"]["aviso_provisional"] == ""
    html = jefe.get(reverse("indicador"), {"mes": "2025-01"}).content.decode()
    assert re.search(r'id="valor-indicador">sin casos<', html)
    respuesta = jefe.get(reverse("indicador_json"), {"mes": "2025-01"})
    assert respuesta.json()["total"]["indicador"]["valor"] is None


def test_rango_de_fechas_y_errores_del_selector(esc, jefe):
    observada(esc)
    hoy = timezone.localdate()
    html = jefe.get(reverse("indicador"), {"desde": hoy.isoformat(), "hasta": hoy.isoformat()}).content.decode()
    assert re.search(r'id="valor-indicador">100,00 %<', html)
    html = jefe.get(reverse("indicador"), {"desde": "2026-05-02", "hasta": "2026-05-01"}).content.decode()
    assert "posterior" in html and "Se muestra el mes en curso" in html


def _mezcla(esc, u, zonas, crear_usuario):
    """Cases across zones, asesores, detecting areas, causes, types and outcomes."""
    otro = crear_usuario(Rol.ASESOR, "asesora_b", team_leader=u.team_leader)
    for i in range(3):
        observada(esc, tipo="traslado" if i else "instalacion")
    anulada(esc, u, zona=zonas[1], tipo="migracion")
    s = T.crear_solicitud(otro, **esc.datos_nueva(observada(esc), numero=f"SF-B{1}"))
    T.aplicar(s, "observar", u.coc, causa="datos_cliente", detalle="CI no coincide")
    T.aplicar(s, "anular", u.coc, motivo="Cliente desiste", justificacion=JUSTIFICACION)
    s2 = T.crear_solicitud(
        otro,
        **esc.datos_nueva(s, numero="SF-B2"),
    )
    T.aplicar(s2, "observar", u.coc, causa="equipos", detalle="Falta ONT")
    o = esc.orden("en_coc")
    T.aplicar(o, "ratificar_anulacion", u.coc, motivo="Sin factibilidad")
    esc.solicitud("redigitada")
    esc.solicitud("registrada")  # not probable: not in the report
    # Never observed, cancelled: probable from its cancellation, with no area nor cause.
    T.aplicar(esc.nueva().orden, "coordinar_anulacion", u.coc, motivo="Zona sin cobertura")
    return otro


def test_desgloses_suman_el_total(esc, u, zonas, crear_usuario):
    _mezcla(esc, u, zonas, crear_usuario)
    datos = ind.informe(mes_actual())
    total = datos["total"]
    assert (total["probables"], total["anulados"]) == (10, 4)
    sin_obs = [f for f in datos["desgloses"]["causa"]["filas"] if f["valor"] == ind.SIN_OBSERVACION]
    assert [(f["probables"], f["anulados"]) for f in sin_obs] == [(1, 1)]
    for dim, bloque in datos["desgloses"].items():
        filas = bloque["filas"]
        assert len(filas) >= 2, dim
        for campo in ("probables", "anulados", "no_anulados", "abiertos", "sin_contacto", "sin_contacto_justificados"):
            assert sum(f[campo] for f in filas) == total[campo], (dim, campo)
        for f in filas:
            assert f["indicador"] == ind.indicador(f["probables"], f["anulados"], f["abiertos"])


def _contar_filas(html):
    return html.count('<tr class="caso">')


def test_cada_lista_tiene_exactamente_la_cuenta_de_su_enlace(esc, u, zonas, crear_usuario, jefe):
    _mezcla(esc, u, zonas, crear_usuario)
    html = jefe.get(reverse("indicador")).content.decode()
    enlaces = re.findall(r'<a href="(/indicador/casos/\?[^"]+)">(?:<span class="n">)?(\d+)<', html)
    assert len(enlaces) >= 5 * 5 * 3  # every count of every breakdown, plus the totals
    vistos = set()
    for url, cuenta in enlaces:
        url = url.replace("&amp;", "&")
        if url in vistos:
            continue
        vistos.add(url)
        pagina = jefe.get(url).content.decode()
        total = int(re.search(r'id="total-casos">(\d+)<', pagina).group(1))
        assert total == int(cuenta), url
        assert _contar_filas(pagina) == int(cuenta), url
    assert len(vistos) > 50


def test_zona_y_causa_llevan_a_los_casos(esc, u, zonas, jefe):
    observada(esc)
    anulada(esc, u, zona=zonas[1], numero_smartflex="SF-SUR-1")
    zona_sur = next(f for f in ind.informe(mes_actual())["desgloses"]["zona"]["filas"] if f["valor"] == zonas[1].pk)
    assert (zona_sur["probables"], zona_sur["anulados"]) == (1, 1)
    html = jefe.get(reverse("indicador_casos"), {"zona": zonas[1].pk, "resultado": "anulados"}).content.decode()
    assert "SF-SUR-1" in html and "Zona Sur" in html and _contar_filas(html) == 1
    sur = Solicitud.objects.get(numero_smartflex="SF-SUR-1")
    assert f'href="{reverse("solicitud", args=[sur.pk])}"' in html  # on to the case page
    html = jefe.get(reverse("indicador_casos"), {"causa": "calle"}).content.decode()
    assert _contar_filas(html) == 2


def test_anulaciones_sin_intento_de_contacto(esc, u, jefe):
    s1 = esc.solicitud("observada")
    T.registrar_contacto(s1, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    T.aplicar(s1, "anular", u.gestion_red, motivo="No contesta")  # a contact attempt: no justification needed
    anulada(esc, u, numero_smartflex="SF-SIN-CONTACTO")  # no attempt: justified (5.2)
    o = esc.nueva(numero_smartflex="SF-OT-ANULADA").orden
    T.aplicar(o, "coordinar_anulacion", u.coc, motivo="Zona sin cobertura")  # no attempt, no justification
    total = ind.informe(mes_actual())["total"]
    assert (total["anulados"], total["sin_contacto"], total["sin_contacto_justificados"]) == (3, 2, 1)
    html = jefe.get(reverse("indicador_casos"), {"resultado": "sin_contacto"}).content.decode()
    assert _contar_filas(html) == 2 and "SF-SIN-CONTACTO" in html and "SF-OT-ANULADA" in html
    assert "sin intento de contacto registrado (con justificación)" in html
    html = jefe.get(reverse("indicador_casos"), {"resultado": "sin_contacto_justificados"}).content.decode()
    assert _contar_filas(html) == 1 and "SF-SIN-CONTACTO" in html
    html = jefe.get(reverse("indicador")).content.decode()
    assert re.search(
        r'anulados sin intento de contacto registrado \(3\.3\), <a href="[^"]+">1</a> de ellos con '
        r"justificación",
        html,
    )


def test_causas_raiz_por_asesor(esc, u, crear_usuario):
    otro = crear_usuario(Rol.ASESOR, "asesora_b")
    for _ in range(3):
        esc.solicitud("registrada")
    observada(esc)
    T.crear_solicitud(otro, **esc.datos_nueva(esc.solicitud("registrada"), numero="SF-OTRO"))
    filas = {f["asesor_id"]: f for f in ind.informe(mes_actual())["asesores"]}
    assert (filas[u.asesor.pk]["registradas"], filas[u.asesor.pk]["observadas"]) == (5, 1)
    assert filas[u.asesor.pk]["porcentaje"] == 20.0
    assert filas[u.asesor.pk]["causas"] == [
        {"causa": "calle", "etiqueta": "Nombre de calle / dirección", "observaciones": 1}
    ]
    assert (filas[otro.pk]["registradas"], filas[otro.pk]["observadas"], filas[otro.pk]["causas"]) == (1, 0, [])


def test_plazos_de_servicios_y_redigitaciones(esc, u, reloj):
    reloj(2026, 3, 10, 9, 0)  # a Tuesday
    en_plazo = esc.servicio("abierto")
    T.aplicar(en_plazo, "atender", u.asesor, respuesta="Listo")
    tarde = esc.servicio("abierto")
    s_tarde = esc.solicitud("pendiente_redigitacion")
    s_a_tiempo = esc.solicitud("pendiente_redigitacion")
    reloj(2026, 3, 10, 10, 0)
    T.aplicar(s_a_tiempo, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s_a_tiempo))
    reloj(2026, 3, 11, 9, 0)
    T.aplicar(tarde, "atender", u.asesor, respuesta="Tarde")
    T.aplicar(s_tarde, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s_tarde))
    datos = ind.informe(ind.Periodo.mes(2026, 3))
    correccion = next(f for f in datos["plazos"] if f["tipo"] == "correccion" and f["destinatario"] == "ASESOR")
    assert (correccion["total"], correccion["en_plazo"], correccion["fuera_de_plazo"]) == (2, 1, 1)
    assert correccion["porcentaje"] == 50.0
    redig = next(f for f in datos["plazos"] if f["tipo"] == "redigitacion")
    assert (redig["total"], redig["en_plazo"], redig["fuera_de_plazo"]) == (2, 1, 1)
    r = datos["redigitaciones"]
    assert (r["total"], r["a_tiempo"], r["tardias"], r["pendientes"], r["porcentaje"]) == (2, 1, 1, 0, 50.0)


@pytest.mark.parametrize(
    "rol,estado",
    [
        (Rol.JEFE_DIVISION, 200),
        (Rol.GESTION_RED, 200),
        (Rol.COC, 200),
        (Rol.ASESOR, 403),
        (Rol.MONITORA, 403),
        (Rol.TEAM_LEADER, 403),
        (Rol.COZ, 403),
        (Rol.TECNICO, 403),
        (Rol.FACTURACION, 403),
    ],
)
def test_acceso_por_rol(client, u, rol, estado):
    client.force_login(u.por_rol[rol])
    for nombre in ("indicador", "indicador_casos", "indicador_xlsx", "indicador_json"):
        assert client.get(reverse(nombre)).status_code == estado, nombre


def test_anonimo_va_al_login(client):
    respuesta = client.get(reverse("indicador"))
    assert respuesta.status_code == 302 and "/cuentas/login/" in respuesta["Location"]


def test_libro_xlsx_y_json_con_los_mismos_numeros(esc, u, zonas, crear_usuario, jefe):
    from openpyxl import load_workbook

    _mezcla(esc, u, zonas, crear_usuario)
    respuesta = jefe.get(reverse("indicador_xlsx"))
    assert respuesta["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in respuesta["Content-Disposition"]
    wb = load_workbook(BytesIO(respuesta.content), read_only=True)
    assert wb.sheetnames == [
        "Resumen",
        "Tendencia",
        "Zona",
        "Asesor",
        "Área",
        "Causa",
        "Tipo",
        "Pareto de causas",
        "Observadas por asesor",
        "Plazos",
    ]
    datos = jefe.get(reverse("indicador_json")).json()
    filas_resumen = list(wb["Resumen"].iter_rows(values_only=True))
    assert list(filas_resumen[4]) == [
        "Probables",
        "No anulados",
        "Anulados",
        "Aún abiertos",
        "Anulados sin contacto",
        "Sin contacto, con justificación",
        "Indicador %",
        "Veredicto",
        "Provisional",
        "Mínimo % (abiertos anulados)",
        "Máximo %",
    ]
    t = datos["total"]
    assert list(filas_resumen[5]) == [
        t[k] for k in ("probables", "no_anulados", "anulados", "abiertos", "sin_contacto", "sin_contacto_justificados")
    ] + [
        t["indicador"]["valor"],
        t["indicador"]["veredicto"],
        "Sí",
        t["indicador"]["rango"]["minimo"],
        t["indicador"]["rango"]["maximo"],
    ]
    assert (t["probables"], t["anulados"], t["abiertos"]) == (10, 4, 6)
    assert t["indicador"]["texto"] == "60,00 %" and t["indicador"]["rango"]["texto"] == "entre 0,00 % y 60,00 %"
    assert (
        filas_resumen[6][0] == "Indicador: 60,00 % (observado); provisional: 6 casos abiertos; entre 0,00 % y 60,00 %"
    )
    filas_zona = list(wb["Zona"].iter_rows(values_only=True))[1:-1]
    assert [(r[0], r[1], r[3], r[7], r[9]) for r in filas_zona] == [
        (f["etiqueta"], f["probables"], f["anulados"], f["indicador"]["valor"], "Sí" if f["abiertos"] else "No")
        for f in datos["desgloses"]["zona"]["filas"]
    ]
    assert datos["total"]["probables"] == 10 and len(datos["tendencia"]) == 12
    json.dumps(datos)


def test_tendencia_svg_legible_sin_color(esc, u, jefe):
    for _ in range(3):
        observada(esc)
    anulada(esc, u)
    html = jefe.get(reverse("indicador")).content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "Umbral 95 %" in svg and "stroke-dasharray" in svg  # the threshold line, labelled
    assert "75,00" in svg  # the value is written (two decimals, as the figure), not only drawn
    assert 'class="barra observado"' in svg and "url(#rayado)" in svg  # hatched, not only coloured
    assert svg.count("s/c") >= 11  # the 11 months without cases say so
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
