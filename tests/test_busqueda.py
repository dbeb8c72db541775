"""The search box (issue 15, item 5): accent- and case-insensitive, by client name, document,
phone, street with door number, Smartflex, OT or SI number, best match first, within what the
user may see; refused queries get a message; the search column follows every write path."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones import buscador
from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, ServicioIngenieria, Solicitud
from anulaciones.roles import Rol

from .test_tablero import casos_en_correccion

pytestmark = pytest.mark.django_db

ENLACE = re.compile(r'href="/solicitudes/(\d+)/"')


def encontrados(respuesta):
    assert respuesta.status_code == 200
    return [int(pk) for pk in ENLACE.findall(respuesta.content.decode())]


@pytest.fixture
def datos(nueva_solicitud, zonas):
    a = nueva_solicitud(
        numero_smartflex="SF-100200", cliente_nombre="Juana Mamani", calle="Av. Busch", numero_ot="OT-777001"
    )
    b = nueva_solicitud(
        numero_smartflex="SF-100201",
        cliente_nombre="Rosa Quispe",
        calle="Calle Murillo",
        numero_ot="OT-777002",
        zona=zonas[1],
    )
    return a, b


def test_busca_por_numero_nombre_calle_u_ot(client, u, datos):
    a, b = datos
    client.force_login(u.gestion_red)
    assert set(encontrados(client.get("/buscar/?q=SF-1002"))) == {a.pk, b.pk}
    assert encontrados(client.get("/buscar/?q=quispe")) == [b.pk]  # case-insensitive, partial
    assert encontrados(client.get("/buscar/?q=busch")) == [a.pk]
    assert encontrados(client.get("/buscar/?q=777002")) == [b.pk]
    r = client.get("/buscar/?q=Nadie+Conocido")
    assert encontrados(r) == [] and "Ninguna solicitud coincide" in r.content.decode()
    html = client.get("/buscar/?q=Mamani").content.decode()
    for texto in ("SF-100200", "OT-777001", "Juana Mamani", "Av. Busch 123", "Zona Norte", "Registrada"):
        assert texto in html


def test_un_numero_exacto_lleva_al_caso(client, u, datos):
    a, b = datos
    client.force_login(u.coc)
    r = client.get("/buscar/?q=sf-100201")
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{b.pk}/"
    r = client.get("/buscar/?q=+OT-777001+")
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{a.pk}/"


def test_vacia_no_lista_nada(client, u, datos):
    client.force_login(u.gestion_red)
    r = client.get("/buscar/?q=")
    assert encontrados(r) == [] and "Escriba un número" in r.content.decode()


def test_cada_rol_solo_encuentra_lo_que_puede_ver(client, u, datos, crear_usuario, zonas, nueva_solicitud):
    a, b = datos  # a in zone 1, b in zone 2, both of u.asesor
    otro = crear_usuario(Rol.ASESOR, "otra_asesora")
    c = T.crear_solicitud(
        otro, numero_smartflex="SF-100299", cliente_nombre="Ana Choque", calle="Calle 3", zona=zonas[0]
    )
    vistos = {}
    for rol in (Rol.ASESOR, Rol.TEAM_LEADER, Rol.COZ, Rol.TECNICO, Rol.MONITORA, Rol.JEFE_DIVISION):
        client.force_login(u.por_rol[rol])
        vistos[rol] = set(encontrados(client.get("/buscar/?q=SF-1002")))
    assert vistos[Rol.ASESOR] == vistos[Rol.TEAM_LEADER] == {a.pk, b.pk}  # own / team's cases
    assert vistos[Rol.COZ] == vistos[Rol.TECNICO] == {a.pk, c.pk}  # their zone
    assert vistos[Rol.MONITORA] == vistos[Rol.JEFE_DIVISION] == {a.pk, b.pk, c.pk}
    # An exact number out of scope is not revealed either.
    client.force_login(u.asesor)
    r = client.get("/buscar/?q=SF-100299")
    assert r.status_code == 200 and encontrados(r) == []


def test_anonimo_va_al_login(client):
    r = client.get("/buscar/?q=SF")
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]


def test_consultas_constantes_10_y_1000_resultados(client, u, zonas):
    client.force_login(u.gestion_red)

    def consultas():
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/buscar/?q=SFM-&sort=-orden")
        assert r.status_code == 200
        return len(ctx.captured_queries), len(encontrados(r))

    casos_en_correccion(10, u, zonas)
    con_10, filas = consultas()
    assert filas == 10
    casos_en_correccion(990, u, zonas)
    con_1000, filas = consultas()
    assert filas == 25  # one page
    assert con_10 == con_1000, (con_10, con_1000)
    print(f"/buscar/: {con_1000} queries with 10 and with 1,000 matches")


# --- issue 15, item 5: a search that finds ------------------------------------------------------
def envejecer(*solicitudes):
    """Registration dates one day apart, the first the oldest (ranking ties go to the newest)."""
    base = timezone.now() - timedelta(days=len(solicitudes) + 1)
    for i, s in enumerate(solicitudes):
        Solicitud.objects.filter(pk=s.pk).update(creado_at=base + timedelta(days=i))


@pytest.fixture
def clientes(nueva_solicitud):
    perez = nueva_solicitud(
        cliente_nombre="Juan Pérez Peña",
        cliente_documento="4876543 LP",
        cliente_telefono="+591 712-34567",
        calle="Calle Murillo",
        numero_puerta="77",
        numero_smartflex="SF-300100",
        numero_ot="OT-880011",
    )
    murillo_770 = nueva_solicitud(cliente_nombre="Ana Choque", calle="Calle Murillo", numero_puerta="770")
    otra = nueva_solicitud(
        cliente_nombre="Rosa Quispe", calle="Av. Arce", numero_puerta="12", cliente_telefono="22441177"
    )
    envejecer(perez, murillo_770, otra)
    return perez, murillo_770, otra


def test_sin_tildes_ni_mayusculas_por_telefono_documento_ot_y_calle_con_numero(client, u, clientes, nueva_solicitud):
    perez, murillo_770, otra = clientes
    client.force_login(u.gestion_red)
    for q in ("perez", "PEREZ", "Pérez", "peña", "pena", "juan perez", "perez juan", "  pÉrEz  "):
        assert encontrados(client.get("/buscar/", {"q": q})) == [perez.pk], q
    # Phone however it is typed: spaces, dashes, with or without the country code.
    for q in ("71234567", "712-34567", "712 345 67", "+591 71234567", "34567"):
        assert encontrados(client.get("/buscar/", {"q": q})) == [perez.pk], q
    # Client document, with or without its issuing department.
    for q in ("4876543", "4876543 LP", "4876543-lp", "48765"):
        assert encontrados(client.get("/buscar/", {"q": q})) == [perez.pk], q
    # OT number (not the default OT-<Smartflex>): a fragment lists it, the whole number opens it.
    assert encontrados(client.get("/buscar/", {"q": "88001"})) == [perez.pk]
    r = client.get("/buscar/", {"q": "ot 880011"})
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{perez.pk}/"
    r = client.get("/buscar/", {"q": "sf300100"})  # the Smartflex number without its dash
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{perez.pk}/"
    # Street with door number: 77 before 770, a street with a 77 elsewhere (phone) last.
    assert encontrados(client.get("/buscar/", {"q": "murillo"})) == [murillo_770.pk, perez.pk]  # newest first
    assert encontrados(client.get("/buscar/", {"q": "arce 12"})) == [otra.pk]
    assert encontrados(client.get("/buscar/", {"q": "Murillo 99"})) == []
    lejos = nueva_solicitud(
        cliente_nombre="Luis Mamani", calle="Calle Murillo", numero_puerta="5", cliente_telefono="77889900"
    )
    assert encontrados(client.get("/buscar/", {"q": "Murillo 77"})) == [perez.pk, murillo_770.pk, lejos.pk]


def test_numero_de_si_con_o_sin_prefijo(client, u, esc):
    si = esc.servicio("abierto")
    client.force_login(u.gestion_red)
    for q in (f"SI {si.pk}", f"si-{si.pk}", f"SI{si.pk}"):
        r = client.get("/buscar/", {"q": q})
        assert r.status_code == 302 and r["Location"] == f"/solicitudes/{si.solicitud_id}/", q
    assert si.solicitud_id in encontrados(client.get("/buscar/", {"q": str(si.pk)}))
    r = client.get("/buscar/", {"q": "SI 999999"})
    assert encontrados(r) == [] and "Ninguna solicitud coincide" in r.content.decode()


def test_el_mejor_primero_exacto_prefijo_contiene(client, u, nueva_solicitud):
    contiene = nueva_solicitud(cliente_telefono="74512345")  # ...4512345...
    exacta_vieja = nueva_solicitud(numero_smartflex="SF-451234")  # digits exactly 451234
    prefijo = nueva_solicitud(cliente_documento="4512349")  # starts with 451234
    exacta_nueva = nueva_solicitud(cliente_documento="451234 CB")  # exact document digits
    contiene_nueva = nueva_solicitud(cliente_telefono="79451234")
    envejecer(exacta_vieja, prefijo, contiene, exacta_nueva, contiene_nueva)
    client.force_login(u.monitora)
    r = client.get("/buscar/", {"q": "451234"})
    assert encontrados(r) == [exacta_nueva.pk, exacta_vieja.pk, prefijo.pk, contiene_nueva.pk, contiene.pk]
    assert "primero los números exactos" in r.content.decode()
    # Sorting by a column still works and replaces the ranking.
    r = client.get("/buscar/", {"q": "451234", "sort": "registrada"})
    assert encontrados(r) == [exacta_vieja.pk, prefijo.pk, contiene.pk, exacta_nueva.pk, contiene_nueva.pk]


@pytest.mark.parametrize(
    "q,mensaje",
    [
        ("---", "no tiene letras ni números"),
        ("¿?¡! .,;:%_#*", "no tiene letras ni números"),
        ("x" * 101, "demasiado larga"),
        ("Pérez " * 40, "demasiado larga"),
    ],
)
def test_consulta_rechazada_con_mensaje_claro(client, u, clientes, q, mensaje):
    client.force_login(u.gestion_red)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/buscar/", {"q": q})
    html = r.content.decode()
    assert r.status_code == 200 and mensaje in html and 'id="busqueda-mensaje"' in html
    assert encontrados(r) == []
    assert not any("anulaciones_solicitud" in c["sql"] for c in ctx.captured_queries)  # nothing searched


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "%%%perez",
        "perez%",
        "\\",
        "'; DROP TABLE x; --",
        "pé\x00rez",
        "٣٤٥",
        "ＰＥＲＥＺ",
        "\u0301\u0301\u0301",
        "9" * 30,
        "SI 99999999999999999999",
    ],
)
def test_entradas_raras_nunca_500(client, u, clientes, q):
    client.force_login(u.gestion_red)
    r = client.get("/buscar/", {"q": q})
    assert r.status_code in (200, 302), (q, r.status_code)
    if q in ("%%%perez", "perez%", "ＰＥＲＥＺ"):  # punctuation is a space; full-width letters are letters
        assert encontrados(r) == [clientes[0].pk]
    if q in ("%", "_"):
        assert encontrados(r) == []


def test_busqueda_demasiado_amplia_pide_precisar_y_muestra_los_numeros_exactos(client, u, nueva_solicitud, monkeypatch):
    monkeypatch.setattr(buscador, "MAX_RESULTADOS", 3)
    calles = [
        nueva_solicitud(calle=f"Calle {n}", numero_puerta=str(n), cliente_telefono=f"7{n}45120")
        for n in (10, 20, 30, 40)
    ]
    exacta = nueva_solicitud(calle="Calle Jaén", cliente_documento="4512")
    client.force_login(u.gestion_red)
    r = client.get("/buscar/", {"q": "calle"})
    html = r.content.decode()
    assert "Más de 3 solicitudes coinciden con «calle»: precise la búsqueda" in html and encontrados(r) == []
    r = client.get("/buscar/", {"q": "4512"})  # in every phone: only the exact document is listed
    html = r.content.decode()
    assert "Más de 3 solicitudes coinciden con «4512»" in html and "solo las que tienen ese número exacto" in html
    assert encontrados(r) == [exacta.pk]
    r = client.get("/buscar/", {"q": "calle 20"})  # precise enough: ranked as usual
    assert encontrados(r) == [calles[1].pk] and "precise la búsqueda" not in r.content.decode()


def test_palabras_cortas_al_comienzo_de_una_palabra(client, u, clientes):
    perez, murillo_770, otra = clientes
    client.force_login(u.gestion_red)
    assert encontrados(client.get("/buscar/", {"q": "pe"})) == [perez.pk]  # Pérez, Peña
    assert encontrados(client.get("/buscar/", {"q": "ez"})) == []  # not inside a word
    assert encontrados(client.get("/buscar/", {"q": "j p"})) == [perez.pk]  # Juan Pérez
    assert set(encontrados(client.get("/buscar/", {"q": "SF"}))) == {perez.pk, murillo_770.pk, otra.pk}


def test_numero_corto_solo_exacto(client, u, nueva_solicitud):
    doce = nueva_solicitud(cliente_documento="12")
    nueva_solicitud(cliente_documento="1234567", cliente_telefono="71200000")
    client.force_login(u.gestion_red)
    assert encontrados(client.get("/buscar/", {"q": "12"})) == [doce.pk]


def test_cada_rol_solo_encuentra_lo_que_puede_ver_por_si_telefono_y_nombre(client, u, crear_usuario, zonas, clientes):
    perez = clientes[0]
    otro = crear_usuario(Rol.ASESOR, "otro_asesor")
    ajena = T.crear_solicitud(
        otro,
        numero_smartflex="SF-990001",
        cliente_nombre="Juan Pérez Peña",
        cliente_telefono="71234567",
        calle="Calle Murillo",
        numero_puerta="77",
        zona=zonas[1],
    )
    T.aplicar(ajena, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita")
    T.aplicar(ajena, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Referencia")
    si = ServicioIngenieria.objects.get(solicitud=ajena)
    client.force_login(u.asesor)
    for q in ("perez", "71234567", "murillo 77"):
        vistos = encontrados(client.get("/buscar/", {"q": q}))
        assert vistos[0] == perez.pk and ajena.pk not in vistos, q
    r = client.get("/buscar/", {"q": f"SI {si.pk}"})
    assert r.status_code == 200 and encontrados(r) == []
    client.force_login(u.jefe_division)
    assert set(encontrados(client.get("/buscar/", {"q": "perez"}))) == {perez.pk, ajena.pk}


def test_la_columna_sigue_a_los_datos_en_cada_camino(client, u, esc, nueva_solicitud):
    """Registration, a correction (4.1, transition path), an OT renumbered (admin), the
    Smartflex import's bulk birth and bulk update: each leaves the row findable by its new data
    only."""
    client.force_login(u.gestion_red)
    s = esc.solicitud("en_correccion", calle="Calle Sucre", numero_puerta="5", numero_ot="OT-111222")
    assert encontrados(client.get("/buscar/", {"q": "111222"})) == [s.pk]
    assert encontrados(client.get("/buscar/", {"q": "sucre 5"})) == [s.pk]
    T.aplicar(
        s,
        "digitar_modificacion",
        u.asesor,
        modificacion="Dirección corregida",
        calle="Calle Ñuflo de Chávez",
        numero_puerta="321",
    )
    assert encontrados(client.get("/buscar/", {"q": "nuflo de chavez 321"})) == [s.pk]
    assert encontrados(client.get("/buscar/", {"q": "sucre"})) == []
    # The OT renumbered (admin edit): its Solicitud is found by the new number only.
    ot = OrdenDeTrabajo.objects.get(solicitud=s)
    ot.numero = "OT-555444"
    ot.save()
    assert encontrados(client.get("/buscar/", {"q": "555444"})) == [s.pk]
    assert encontrados(client.get("/buscar/", {"q": "111222"})) == []
    # Smartflex import: births in bulk (with their own OT numbers) and data corrected in bulk.
    nuevas = T.crear_en_bloque(
        u.gestion_red,
        [
            dict(
                numero_smartflex="SF-IMP-1",
                tipo="instalacion",
                cliente_nombre="María Gutiérrez",
                cliente_telefono="76543210",
                calle="Av. Ballivián",
                numero_puerta="1020",
                zona_id=s.zona_id,
                asesor_id=u.asesor.pk,
                numero_ot="OT-IMP-4455",
            )
        ],
    )
    assert encontrados(client.get("/buscar/", {"q": "gutierrez"})) == [nuevas[0].pk]
    assert encontrados(client.get("/buscar/", {"q": "ballivian 1020"})) == [nuevas[0].pk]
    assert encontrados(client.get("/buscar/", {"q": "imp 4455"})) == [nuevas[0].pk]
    hechas, _ = T.actualizar_datos_en_bloque(
        u.gestion_red, {nuevas[0].pk: {"cliente_telefono": "60011122", "calle": "Calle Potosí"}}
    )
    assert hechas == [nuevas[0].pk]
    assert encontrados(client.get("/buscar/", {"q": "60011122"})) == [nuevas[0].pk]
    assert encontrados(client.get("/buscar/", {"q": "potosi 1020"})) == [nuevas[0].pk]
    assert encontrados(client.get("/buscar/", {"q": "76543210"})) == []
    assert encontrados(client.get("/buscar/", {"q": "imp 4455"})) == [nuevas[0].pk]  # its OT kept


def test_relleno_de_la_migracion_por_lotes(client, u, clientes):
    """The data migration's fill (rows written before the column existed) makes them findable."""
    perez = clientes[0]
    Solicitud.objects.update(busqueda="")
    client.force_login(u.gestion_red)
    assert encontrados(client.get("/buscar/", {"q": "perez"})) == []
    assert buscador.rellenar(Solicitud, connection, lote=2) == 3
    assert encontrados(client.get("/buscar/", {"q": "perez"})) == [perez.pk]
    assert encontrados(client.get("/buscar/", {"q": "880011"})) == [perez.pk]  # its OT, read in the batch


def test_la_columna_se_recalcula_solo_si_cambian_sus_datos(u, esc, monkeypatch):
    """A transition that does not touch the searched data neither recomputes the column nor
    reads the OT number for it; a correction of the address does, once."""
    s = esc.solicitud("en_correccion")
    llamadas = []
    original = buscador.texto_de_busqueda
    monkeypatch.setattr(buscador, "texto_de_busqueda", lambda **kw: llamadas.append(kw) or original(**kw))
    T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Referencia agregada")
    T.aplicar(s, "asignar_instalacion", u.gestion_red)
    assert llamadas == []
    s = esc.solicitud("en_correccion", numero_ot="OT-424242")
    llamadas.clear()
    T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Calle corregida", calle="Calle Jordán")
    assert len(llamadas) == 1 and llamadas[0]["calle"] == "Calle Jordán" and llamadas[0]["numero_ot"] == "OT-424242"


def test_postgresql_usa_el_indice_trigrama(u, clientes):
    """No full-table scan per query on PostgreSQL: every shape of query can be answered from the
    trigram GIN index (the test table is tiny, so plain scans are disfavoured for the check; at
    100,000 rows the planner picks the index by itself — docs/bench.md)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL=postgres://...)")
    from anulaciones import selectors

    for q in ("perez", "murillo 77", "451234", "12", "SI 5", "sf-300100", "pe", "j p"):
        qs = selectors.buscar_solicitudes(user=u.gestion_red, q=q)
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL enable_indexscan = off")  # the pk index walked with a filter
            cur.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        assert "anulaciones_solicitud_busqueda_trgm" in plan, (q, plan)
        assert "Seq Scan on anulaciones_solicitud" not in plan, (q, plan)


@pytest.mark.django_db(transaction=True)
def test_navegador_buscar_desde_la_barra_sin_tildes_el_mejor_primero(pagina, entrar, u, clientes):
    """In a real browser: the header's search box, then the page's own; the best match on the
    first row; a punctuation-only query answered with a message; an exact number opens the case."""
    perez, murillo_770, otra = clientes
    p = pagina
    entrar(p, u.gestion_red)
    p.fill("#buscar-q", "perez")
    p.press("#buscar-q", "Enter")
    p.wait_for_url(re.compile(r"/buscar/\?q=perez"))
    filas = p.locator("#tabla-busqueda tbody tr")
    assert filas.count() == 1 and "Juan Pérez Peña" in filas.first.inner_text()
    assert "1 resultado para «perez»" in p.locator("#busqueda-cuenta").inner_text()

    p.fill("#busqueda-q", "Murillo 77")
    p.get_by_role("button", name="Buscar").last.click()
    p.wait_for_url(re.compile(r"/buscar/\?q=Murillo"))
    assert filas.count() == 2
    assert "Calle Murillo 77" in filas.nth(0).inner_text() and "Calle Murillo 770" in filas.nth(1).inner_text()
    assert "primero los números exactos" in p.locator("#busqueda-cuenta").inner_text()

    p.fill("#busqueda-q", "712-34567")  # the phone as it was dictated
    p.press("#busqueda-q", "Enter")
    p.wait_for_url(re.compile(r"q=712-34567"))
    assert filas.count() == 1 and perez.numero_smartflex in filas.first.inner_text()

    p.fill("#busqueda-q", "-- ¿? --")
    p.press("#busqueda-q", "Enter")
    p.wait_for_url(re.compile(r"/buscar/\?q=--"))
    mensaje = p.locator("#busqueda-mensaje")
    assert mensaje.is_visible() and "no tiene letras ni números" in mensaje.inner_text()
    assert p.locator("#tabla-busqueda").count() == 0

    p.fill("#busqueda-q", "sf 300100")  # the Smartflex number, typed loosely: straight to the case
    p.press("#busqueda-q", "Enter")
    p.wait_for_url(re.compile(rf"/solicitudes/{perez.pk}/$"))
    assert "SF-300100" in p.locator("h1").inner_text()
