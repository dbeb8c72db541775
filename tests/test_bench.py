"""The benchmarks of issue 8 at a small size (bench/): each one runs, measures its path and its
floor, and both return the same rows/results. Timings are never asserted here (BENCHMARKS.md,
written by ``make bench``, has them)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def datos():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): the generator and floors are PostgreSQL SQL")
    from bench import generar

    connection.ensure_connection()
    cuentas, _ = generar.generar(connection.connection, 600, log=lambda m: None, confirmar=False)
    return cuentas


def _url_bd():
    s = connection.settings_dict
    clave = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{clave}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_generador_respeta_las_proporciones_y_los_estados(datos):
    assert datos["solicitud"] == datos["ordendetrabajo"] == datos["caso"] == 600
    assert datos["servicioingenieria"] == 180 and datos["servicios abiertos"] == 60  # 0.3·n, a third open
    assert datos["zonificacion"] == 30  # 0.05·n
    with connection.cursor() as c:
        # every OT agrees with its Solicitud's state, and only observed cases are probable
        c.execute("""SELECT s.estado, o.estado, count(*) FROM anulaciones_solicitud s
                     JOIN anulaciones_ordendetrabajo o ON o.solicitud_id = s.id GROUP BY 1, 2""")
        pares = {(a, b) for a, b, _ in c.fetchall()}
        c.execute("""SELECT count(*) FROM anulaciones_solicitud s JOIN anulaciones_caso k ON k.id = s.caso_id
                     WHERE (k.probable_at IS NOT NULL) <> EXISTS (SELECT 1 FROM anulaciones_observacion ob
                                                                  WHERE ob.caso_id = k.id)""")
        incoherentes = c.fetchone()[0]
        c.execute("""SELECT count(*) FROM anulaciones_zonificacion z JOIN anulaciones_ordendetrabajo o
                     ON o.id = z.orden_id WHERE o.estado <> 'ejecutada'""")
        zonif_sin_ejecutar = c.fetchone()[0]
    assert pares == {
        ("instalada", "ejecutada"),
        ("en_instalacion", "asignada"),
        ("registrada", "generada"),
        ("observada", "generada"),
        ("en_correccion", "generada"),
        ("corregida", "generada"),
        ("anulada", "anulada"),
    }
    assert incoherentes == 0 and zonif_sin_ejecutar == 0
    assert datos["registroauditoria"] > 4 * 600


def test_cada_benchmark_mide_su_camino_y_su_piso_con_el_mismo_resultado(datos, tmp_path):
    from bench import informe, medidas

    res = {
        "n": 600,
        "datos": datos,
        "maquina": {
            "cpu": "test",
            "nucleos": 1,
            "ram_gb": 1,
            "postgresql": "?",
            "python": "?",
            "sistema": "?",
            "carga": (0, 0, 0),
        },
    }
    res["tablero"] = t = medidas.tablero(reps=2)
    assert t["filas"] > 0 and t["mismas_filas"] and t["consultas"] > 0 and t["segundos"] > 0 and t["piso"] > 0

    from bench import run

    # The end-of-run pass alternates the sizes' databases (here twice the test database).
    res["tablero_intercalado"] = inter = run.tablero_intercalado(
        {600: _url_bd(), 601: _url_bd()}, rondas=2, reps=1, log=lambda m: None
    )
    assert inter[600]["consultas"] == inter[601]["consultas"] == [t["consultas"]]
    assert inter[600]["segundos"] > 0 and inter[601]["piso"] > 0

    res["indicador"] = i = medidas.indicador(reps=1)
    for periodo in ("mes", "anio"):
        assert i[periodo]["mismo_resultado"] and i[periodo]["segundos"] > 0 and i[periodo]["piso"] > 0
    assert i["anio"]["resultado"]["probables"] > 0

    res["libro"] = libro = medidas.libro(tamanos=(40,), reps=1)
    assert libro[40]["mismas_filas"]
    assert libro[40]["filas_segundos"] == libro[40]["filas_xlsxwriter"] == libro[40]["filas_csv"] == 40

    res["barrido"] = b = medidas.barrido(k=150, reps=1)
    assert b["mismo_resultado"] and b["resultados_real"] == b["resultados_piso"] == [(150, 150)]

    res["recalculo"] = c = medidas.recalculo(k=120, reps=1)
    assert c["mismo_resultado"] and c["cambiados"] == [120] and c["segundos"] > 0 and c["piso"] > 0

    res["riesgo"] = g = medidas.riesgo(reps=3)
    assert g["mismo_resultado"] and g["cuentas"]["factores"] > 0 and 0 < g["puntaje"] < g["registro"]

    res["importacion"] = m = medidas.importacion(k=30, reps=1)
    assert m["mismo_resultado"] and m["creadas"] == [(30, 30, 30)]

    res["http"] = h = medidas.http_transicion(_url_bd(), peticiones=24, rondas=1, clientes=4, workers=2)
    assert h["mismo_resultado"] and h["rps"] > 0 and h["rps_piso"] > 0 and h["p95"] >= h["p50"] > 0

    res["mixta"] = x = medidas.carga_mixta(_url_bd(), segundos=3, clientes=4, workers=2)
    assert x["errores"] == 0 and x["auditoria_ok"] and x["paginas"] > 0 and x["transiciones"] > 0
    assert x["aceptadas"] == x["transiciones"] and x["p99"] >= x["p95"] >= x["p50"] > 0

    # Issue 18: a status feed reconciled twice (nothing changes the second time) against its floor,
    # the same differences as the floor's join and as the feed's writer planted; its peak memory in
    # a fresh process; the planted re-entries proposed, and only them.
    res["conciliacion"] = q = medidas.conciliacion(k=200, bd=_url_bd(), reps=1, traza=False)
    assert q["mismo_resultado"] and q["idempotente"] and q["estados_reescritos"] == 0
    assert q["diferencias"] == q["diferencias_piso"] == q["archivo"]["diferencias"]
    assert q["diferencias"]["anulada_en_smartflex"] > 0 and q["diferencias"]["sin_caso"] == 1
    assert q["resultado"]["total"] == q["archivo"]["filas"] == 200 and q["resultado"]["con_error"] == 0
    assert q["resultado_reimportar"]["diferencias"] == q["resultado_reimportar"]["creadas"] == 0
    assert q["revisar"] == [0, 0] and q["segundos_revisar"] > 0
    assert q["memoria"]["rss_pico_mb"] >= q["memoria"]["rss_antes_mb"] > 0
    assert q["emparejamiento"]["mismo_resultado"] and q["emparejamiento"]["reentradas"] >= 1
    with connection.cursor() as c:  # the benchmark leaves no status, difference or proposal behind
        c.execute(
            "SELECT (SELECT count(*) FROM anulaciones_estadosmartflex) + (SELECT count(*) FROM "
            "anulaciones_diferencia) + (SELECT count(*) FROM anulaciones_emparejamiento)"
        )
        assert c.fetchone()[0] == 0

    ruta = tmp_path / "BENCHMARKS.md"
    informe.escribir(ruta, [res], comando="test")
    texto = ruta.read_text()
    filas = informe.filas(res)
    assert len(filas) == 13 and all(f[7] for f in filas)  # every row, same rows/results on both sides
    assert "with the sizes alternated" in texto and "600: " in texto and "601: " in texto
    for marca in (
        "Tablero de Control",
        "Deadline sweep",
        "Calendar change",
        "Risk score of one registration",
        "Risk aggregates, nightly",
        "Indicator, a month",
        "Indicator, a year",
        "Month-end workbook",
        "Smartflex import",
        "A transition over HTTP",
        "Mixed load",
        "Reconciliation with Smartflex",
        "Re-entry pairing",
        "Reconciliation of a 200-row status feed",
    ):
        assert marca in texto
