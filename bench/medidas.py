"""The benchmarks of issue 8: each measures a hot path and its floor in the same run, checks
that both return the same rows/results, and returns its figures (seconds are medians).

Every function works on the current Django database (the runner's ``bench`` database, or the
test database of ``tests/test_bench.py`` at a small size). PostgreSQL only.
"""

import csv
import http.client
import json
import os
import queue
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones.importacion import COLUMNAS

RAIZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def medir(fn, reps, preparar=None):
    """Median wall time of ``fn()`` over ``reps`` runs (``preparar()`` before each, untimed);
    returns (median seconds, all times, last result)."""
    tiempos, res = [], None
    for _ in range(reps):
        if preparar:
            preparar()
        t0 = time.perf_counter()
        res = fn()
        tiempos.append(time.perf_counter() - t0)
    return statistics.median(tiempos), tiempos, res


def _sql(sql, params=None, fetch=True):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if fetch else cur.rowcount


def usuario(rol):
    return get_user_model().objects.filter(groups__name=rol, is_active=True).order_by("pk").first()


# --- 1. Tablero de Control: first page with a filter ------------------------------------------
SQL_TABLERO = """
SELECT si.id FROM anulaciones_servicioingenieria si
  JOIN anulaciones_solicitud s ON s.id = si.solicitud_id
  JOIN anulaciones_zona z ON z.id = s.zona_id
  LEFT JOIN anulaciones_ordendetrabajo o ON o.solicitud_id = s.id
  LEFT JOIN auth_user a ON a.id = si.asesor_id
  LEFT JOIN anulaciones_observacion ob ON ob.id = si.observacion_id
WHERE si.estado IN ('abierto', 'vencido') AND si.zona_id = %s
ORDER BY si.vence_at, si.id LIMIT %s"""
# The floor fetches every column a row shows (the SELECT list is the page's), the ids compared.
SQL_TABLERO_FILAS = SQL_TABLERO.replace(
    "SELECT si.id",
    "SELECT si.id, si.tipo, si.destinatario, si.estado, si.creado_at, si.vence_at, s.id, "
    "s.numero_smartflex, s.version, s.estado, z.nombre, o.numero, a.first_name, a.last_name, ob.causa, ob.detalle",
)


def tablero(reps=20, zona_id=7):
    from django.conf import settings

    gr = usuario("GESTION_RED")
    cliente = Client()
    cliente.force_login(gr)
    url = f"/tablero/?zona={zona_id}"
    por_pagina = settings.ANULACIONES_TABLERO_POR_PAGINA
    r = cliente.get(url)
    assert r.status_code == 200, r.status_code
    ids_vista = [f.record.pk for f in r.context["tabla"].page.object_list]
    with CaptureQueriesContext(connection) as q:
        cliente.get(url)
    consultas = len(q.captured_queries)
    t, _, _ = medir(lambda: cliente.get(url), reps)
    piso, _, filas = medir(lambda: _sql(SQL_TABLERO_FILAS, [zona_id, por_pagina]), reps)
    ids_piso = [f[0] for f in filas]
    return {
        "segundos": t,
        "piso": piso,
        "consultas": consultas,
        "filas": len(ids_vista),
        "mismas_filas": ids_vista == ids_piso,
        "url": url,
    }


# --- 2. deadline sweep --------------------------------------------------------------------
def crear_servicios(k, *, vence, estado="abierto"):
    """``k`` SIs (correccion, for the ASESOR) on Solicitudes en_correccion, inserted directly
    (benchmark fixture, like the generator). Returns their ids."""
    ahora = timezone.now()
    filas = _sql(
        """
        WITH s AS (SELECT id, asesor_id, row_number() OVER (ORDER BY id) AS r FROM anulaciones_solicitud
                   WHERE estado = 'en_correccion'),
             n AS (SELECT count(*) AS c FROM s)
        INSERT INTO anulaciones_servicioingenieria (version, creado_at, actualizado_at, tipo, destinatario, vendedor,
            requerido, vence_at, aviso_at, estado, respuesta, fuera_de_plazo, abierto_por_id, asesor_id, solicitud_id)
        SELECT 0, %(creado)s, %(creado)s, 'correccion', 'ASESOR', '', 'Benchmark', %(vence)s, %(aviso)s, %(estado)s,
               '', false, %(gr)s, s.asesor_id, s.id
        FROM generate_series(0, %(k)s - 1) g CROSS JOIN n JOIN s ON s.r = 1 + g %% n.c
        RETURNING id""",
        {
            "creado": ahora - timedelta(hours=5),
            "vence": vence,
            "aviso": vence - timedelta(hours=1),
            "estado": estado,
            "k": k,
            "gr": usuario("GESTION_RED").pk,
        },
    )
    # The rows stand for SIs opened during the day: autovacuum has analyzed the table by the
    # time they fall due (fresh statistics; see BENCHMARKS.md for what stale ones did).
    _sql("ANALYZE anulaciones_servicioingenieria", fetch=False)
    return [f[0] for f in filas]


def borrar_servicios(ids):
    """Remove benchmark SIs and their notices (their audit rows stay: the log is immutable)."""
    _sql("DELETE FROM anulaciones_notificacion WHERE clave = ANY(%s)", [[f"servicio:{i}" for i in ids]], fetch=False)
    _sql("DELETE FROM anulaciones_servicioingenieria WHERE id = ANY(%s)", [ids], fetch=False)
    vacuum("anulaciones_servicioingenieria", "anulaciones_notificacion")


def vacuum(*tablas):
    """What autovacuum does between two bursts in production (this machine's PostgreSQL runs
    with ``autovacuum = off``): the fixtures' dead index entries would slow every later
    measurement (docs/bench.md, "Diaries moved from code comments"). Outside a transaction only."""
    if connection.in_atomic_block:
        return
    for tabla in tablas:
        _sql(f"VACUUM (ANALYZE) {tabla}", fetch=False)


SQL_BARRIDO_UPDATE = """
UPDATE anulaciones_servicioingenieria SET estado = 'vencido', version = version + 1, actualizado_at = %(ahora)s
WHERE estado = 'abierto' AND vence_at <= %(ahora)s RETURNING id, solicitud_id"""
SQL_BARRIDO_INSERT = """
INSERT INTO anulaciones_registroauditoria (content_type_id, object_id, objeto, caso_id, transicion, paso,
    estado_origen, estado_destino, usuario_id, rol, creado_at, nota)
SELECT %(ct)s, t.id, 'SI ' || t.id || ' (Corrección)', s.caso_id, 'vencer', '5.2', 'abierto', 'vencido', %(u)s,
       'SISTEMA', %(ahora)s, 'Plazo de atención vencido (4.2).'
FROM unnest(%(ids)s::bigint[], %(sol)s::bigint[]) AS t(id, solicitud_id)
JOIN anulaciones_solicitud s ON s.id = t.solicitud_id"""


def barrido(k=100_000, reps=3):
    """The Celery task body ``barrer_plazos`` on ``k`` due SIs vs one UPDATE … RETURNING plus
    one INSERT of the audit rows."""
    from django.contrib.contenttypes.models import ContentType

    from anulaciones import tasks
    from anulaciones.models import ServicioIngenieria
    from anulaciones.transitions import usuario_sistema

    ct = ContentType.objects.get_for_model(ServicioIngenieria).pk
    sistema = usuario_sistema().pk
    lote = {}
    # The working-hours calendar on (issue 17): the default week of ANULACIONES_HORARIO, and every
    # other zone on a calendar of its own (always working, so the warning step always runs).
    from anulaciones.models import CalendarioLaboral, Zona

    propio, _ = CalendarioLaboral.objects.get_or_create(nombre="Benchmark", defaults={"horario": "lun-dom 00:00-24:00"})
    zonas = list(Zona.objects.filter(calendario__isnull=True).values_list("pk", flat=True)[::2])
    Zona.objects.filter(pk__in=zonas).update(calendario=propio)

    def preparar():
        lote["ids"] = crear_servicios(k, vence=timezone.now() - timedelta(hours=1))

    def comprobar():
        ids = lote.pop("ids")
        hechos = _sql(
            "SELECT count(*) FROM anulaciones_servicioingenieria WHERE id = ANY(%s) AND estado = 'vencido'", [ids]
        )[0][0]
        auditados = _sql(
            "SELECT count(*) FROM anulaciones_registroauditoria WHERE content_type_id = %s "
            "AND transicion = 'vencer' AND object_id = ANY(%s)",
            [ct, ids],
        )[0][0]
        borrar_servicios(ids)
        return hechos, auditados

    def real():
        return tasks.barrer_plazos.run()

    def piso():
        ahora = timezone.now()
        with transaction.atomic():
            filas = _sql(SQL_BARRIDO_UPDATE, {"ahora": ahora})
            _sql(
                SQL_BARRIDO_INSERT,
                {"ct": ct, "u": sistema, "ahora": ahora, "ids": [f[0] for f in filas], "sol": [f[1] for f in filas]},
                fetch=False,
            )
        return len(filas)

    tiempos_r, tiempos_p, res_r, res_p = [], [], [], []
    for _ in range(reps):  # alternate, so both see the same table and cache state
        for fn, tiempos, res in ((real, tiempos_r, res_r), (piso, tiempos_p, res_p)):
            preparar()
            t0 = time.perf_counter()
            fn()
            tiempos.append(time.perf_counter() - t0)
            res.append(comprobar())
    Zona.objects.filter(pk__in=zonas).update(calendario=None)
    propio.delete()
    return {
        "segundos": statistics.median(tiempos_r),
        "piso": statistics.median(tiempos_p),
        "k": k,
        "calendarios": "ANULACIONES_HORARIO + 1 propio en la mitad de las zonas",
        "resultados_real": res_r,
        "resultados_piso": res_p,
        "mismo_resultado": all(r == (k, k) for r in res_r + res_p),
    }


# --- 2b. a calendar change (issue 17) ---------------------------------------------------------
SQL_RECALCULO_UPDATE = """
UPDATE anulaciones_servicioingenieria si SET vence_at = t.vence, aviso_at = t.aviso, vence_explicacion = t.texto,
       actualizado_at = %(ahora)s
FROM unnest(%(ids)s::bigint[], %(vence)s::timestamptz[], %(aviso)s::timestamptz[], %(texto)s::text[])
     AS t(id, vence, aviso, texto)
WHERE si.id = t.id AND si.estado = 'abierto' RETURNING si.id, si.solicitud_id"""
SQL_RECALCULO_INSERT = """
INSERT INTO anulaciones_registroauditoria (content_type_id, object_id, objeto, caso_id, transicion, paso,
    estado_origen, estado_destino, usuario_id, rol, creado_at, nota)
SELECT %(ct)s, t.id, 'SI ' || t.id || ' (Corrección)', s.caso_id, 'recalcular_plazo', '4.2', 'abierto', 'abierto',
       %(u)s, 'SISTEMA', %(ahora)s, 'Plazo recalculado por cambio del calendario laboral.'
FROM unnest(%(ids)s::bigint[], %(sol)s::bigint[]) AS t(id, solicitud_id)
JOIN anulaciones_solicitud s ON s.id = t.solicitud_id"""


def recalculo(k=100_000, reps=1):
    """A holiday added in the admin: ``calendario.recalcular_plazos`` (the Celery task body) on
    ``k`` open SIs whose deadline moves, vs the floor: the same new deadlines, warnings and
    explanations, computed beforehand, written by one UPDATE … FROM unnest plus one INSERT of the
    audit rows. The path also reads, locks and computes (the working-time arithmetic, per row)."""
    from django.contrib.contenttypes.models import ContentType

    from anulaciones import calendario, reloj
    from anulaciones.models import CalendarioLaboral, ServicioIngenieria
    from anulaciones.transitions import usuario_sistema

    ct = ContentType.objects.get_for_model(ServicioIngenieria).pk
    sistema = usuario_sistema().pk

    def preparar():
        # Open SIs with a stale deadline (tomorrow), as after a holiday was added for tomorrow.
        return crear_servicios(k, vence=timezone.now() + timedelta(days=1, minutes=7))

    def real():
        ids = preparar()
        t0 = time.perf_counter()
        cambios = calendario.recalcular_plazos()
        segundos = time.perf_counter() - t0
        borrar_servicios(ids)
        return segundos, cambios["servicios"]

    def piso():
        ids = preparar()
        cal = CalendarioLaboral.todos()
        filas = list(ServicioIngenieria.objects.filter(pk__in=ids).values_list("pk", "creado_at", "solicitud__zona_id"))
        vence, aviso, texto = [], [], []
        for _, abierto, zona in filas:
            c = cal.de_zona(zona)
            v = reloj.vencimiento_si(c, abierto)
            vence.append(v)
            aviso.append(max(reloj.momento_aviso(c, v), abierto))
            texto.append(reloj.explicar_si(c, abierto, v))
        ahora = timezone.now()
        t0 = time.perf_counter()
        with transaction.atomic():
            hechas = _sql(
                SQL_RECALCULO_UPDATE,
                {"ahora": ahora, "ids": [f[0] for f in filas], "vence": vence, "aviso": aviso, "texto": texto},
            )
            _sql(
                SQL_RECALCULO_INSERT,
                {"ct": ct, "u": sistema, "ahora": ahora, "ids": [h[0] for h in hechas], "sol": [h[1] for h in hechas]},
                fetch=False,
            )
        segundos = time.perf_counter() - t0
        borrar_servicios(ids)
        return segundos, len(hechas)

    r, p = [], []
    for _ in range(reps):
        r.append(real())
        p.append(piso())
    return {
        "segundos": statistics.median(x[0] for x in r),
        "piso": statistics.median(x[0] for x in p),
        "k": k,
        "mismo_resultado": all(x[1] == k for x in r + p),
        "cambiados": [x[1] for x in r],
    }


# --- 2c. the risk score at entry (issue 19) ----------------------------------------------------
def riesgo(reps=100):
    """The nightly recomputation of the risk aggregates (``riesgo.recalcular_factores``), the
    monthly evaluation of the month before the data's last one (``riesgo.evaluar``), and one
    registration (``transitions.crear_solicitud``, scoring included) vs its scoring alone
    (``FactorRiesgo.puntuar``: the factor rows and the alias lookup) — medians of ``reps``."""
    from anulaciones import riesgo as servicio
    from anulaciones import transitions
    from anulaciones.models import FactorRiesgo, Solicitud, Zona

    t0 = time.perf_counter()
    cuentas = servicio.recalcular_factores()
    nocturno = time.perf_counter() - t0
    ultimo = Solicitud.objects.order_by("-creado_at").values_list("creado_at", flat=True).first()
    mes = (timezone.localtime(ultimo).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    t0 = time.perf_counter()
    evaluacion = servicio.evaluar(mes)
    evaluar = time.perf_counter() - t0
    asesor = usuario("ASESOR")
    zona = Zona.objects.order_by("pk").first()
    marca = secrets.token_hex(4)

    def datos(i):
        return {
            "numero_smartflex": f"BR{marca}{i:06d}",
            "tipo": "instalacion",
            "cliente_nombre": "Benchmark",
            "calle": f"Calle {i % 997}",
            "numero_puerta": "1",
            "zona": zona,
            "caja_nap": f"NAP-{i % 5000}",
            "plan": "Fibra 100 Mbps",
            "asesor": asesor,
        }

    transitions.crear_solicitud(asesor, **datos(0))  # warm
    registro, puntaje, bandas = [], [], []
    for i in range(1, reps + 1):
        d = datos(i)
        t0 = time.perf_counter()
        transitions.crear_solicitud(asesor, **d)
        registro.append(time.perf_counter() - t0)
        s = Solicitud(**{k: v for k, v in d.items() if k != "numero_smartflex"})
        t0 = time.perf_counter()
        FactorRiesgo.puntuar([s])
        puntaje.append(time.perf_counter() - t0)
        bandas.append(s.riesgo_banda)
    return {
        "nocturno": nocturno,
        "cuentas": cuentas,
        "evaluar": evaluar,
        "mes": mes.isoformat(),
        "evaluadas": evaluacion["solicitudes"],
        "registro": statistics.median(registro),
        "puntaje": statistics.median(puntaje),
        "reps": reps,
        "mismo_resultado": all(bandas),  # every registration got a band from the history
    }


# --- 3. indicator -------------------------------------------------------------------------
SQL_INDICADOR = """
SELECT count(*) AS probables,
       count(*) FILTER (WHERE x.anulado) AS anulados,
       count(*) FILTER (WHERE NOT x.anulado AND x.estado NOT IN ('anulada', 'redigitada', 'instalada')) AS abiertos,
       count(*) FILTER (WHERE x.anulado AND NOT x.contacto) AS sin_contacto,
       count(*) FILTER (WHERE x.anulado AND NOT x.contacto AND x.justificacion <> '') AS sin_contacto_justificados
FROM (SELECT s.caso_id, s.estado, s.justificacion_anulacion AS justificacion,
             (s.estado IN ('anulada', 'pendiente_redigitacion') OR o.estado = 'anulada') IS TRUE AS anulado,
             EXISTS (SELECT 1 FROM anulaciones_intentocontacto ic WHERE ic.caso_id = s.caso_id) AS contacto
      FROM anulaciones_solicitud s
      JOIN anulaciones_caso c ON c.id = s.caso_id
      LEFT JOIN anulaciones_ordendetrabajo o ON o.solicitud_id = s.id
      WHERE s.reemplazada_por_id IS NULL AND c.probable_at >= %s AND c.probable_at < %s) x"""


def _sin_jit(fn):
    """As ``indicador.informe`` runs: one transaction, JIT off (both sides the same)."""

    def correr():
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL jit = off")
            return fn()

    return correr


def indicador(reps=5):
    from anulaciones.reports import indicador as ind

    hoy = timezone.localdate()
    anterior = hoy.replace(day=1) - timedelta(days=1)
    mes = ind.Periodo.mes(anterior.year, anterior.month)
    anio = ind.Periodo(mes.meses_tendencia(12)[0].desde, mes.hasta)
    res = {}
    for nombre, p in (("mes", mes), ("anio", anio)):
        t, _, real = medir(_sin_jit(lambda p=p: ind.casos(p).aggregate(**ind._conteos())), reps)
        tp, _, filas = medir(_sin_jit(lambda p=p: _sql(SQL_INDICADOR, [p.inicio, p.fin])), reps)
        piso = dict(
            zip(
                ("probables", "anulados", "abiertos", "sin_contacto", "sin_contacto_justificados"),
                filas[0],
                strict=False,
            )
        )
        ti, _, _ = medir(lambda p=p: ind.informe(p), max(1, reps // 2))
        res[nombre] = {
            "segundos": t,
            "piso": tp,
            "informe_completo": ti,
            "periodo": f"{p.desde}..{p.hasta}",
            "resultado": real,
            "mismo_resultado": real == piso,
        }
    return res


# --- 4. month-end workbook ------------------------------------------------------------------
MES_BENCH = datetime(2000, 1, 1).date()  # the benchmark's rows: a month no real data uses


def crear_zonificaciones(k):
    """``k`` digitada zonifications on executed OTs (benchmark fixture, inserted directly)."""
    gr = usuario("GESTION_RED").pk
    filas = _sql(
        """
        WITH o AS (SELECT id, solicitud_id, zona_id, row_number() OVER (ORDER BY id) AS r
                   FROM anulaciones_ordendetrabajo WHERE estado = 'ejecutada'),
             n AS (SELECT count(*) AS c FROM o)
        INSERT INTO anulaciones_zonificacion (version, creado_at, actualizado_at, tipo_correccion, calle, referencia,
            caja_nap, latitud, longitud, estado, digitada_at, orden_id, recibida_por_id, solicitud_id,
            zona_anterior_id, zona_corregida_id)
        SELECT 1, %(t)s, %(t)s, (ARRAY['zona','calle','referencia','caja_nap','coordenadas'])[1 + g %% 5],
               'Calle ' || g, 'Casa de rejas verdes, frente a la plaza', 'NAP-' || (g %% 5000),
               -16.5 + (g %% 1000) / 10000.0, -68.15 + (g %% 700) / 10000.0, 'digitada',
               %(t)s + make_interval(secs => g), o.id, %(gr)s, o.solicitud_id, o.zona_id, 1 + (o.zona_id %% 30)
        FROM generate_series(0, %(k)s - 1) g CROSS JOIN n JOIN o ON o.r = 1 + g %% n.c
        RETURNING id""",
        {"t": timezone.make_aware(datetime(2000, 1, 2)), "k": k, "gr": gr},
    )
    return [f[0] for f in filas]


SQL_WORKBOOK = """
SELECT s.numero_smartflex, o.numero, s.cliente_nombre, za.nombre, zc.nombre, z.tipo_correccion, z.calle,
       z.referencia, z.caja_nap, z.latitud::float8, z.longitud::float8,
       (o.ejecutada_at AT TIME ZONE %(tz)s), (z.creado_at AT TIME ZONE %(tz)s), (z.digitada_at AT TIME ZONE %(tz)s),
       coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username),
       s.cliente_documento, s.cliente_telefono, s.plan
FROM anulaciones_zonificacion z
JOIN anulaciones_solicitud s ON s.id = z.solicitud_id
JOIN anulaciones_ordendetrabajo o ON o.id = z.orden_id
LEFT JOIN anulaciones_zona za ON za.id = z.zona_anterior_id
JOIN anulaciones_zona zc ON zc.id = z.zona_corregida_id
JOIN auth_user u ON u.id = z.recibida_por_id
WHERE z.id = ANY(%(ids)s)
ORDER BY zc.nombre, z.digitada_at, z.id"""


def _filas_piso(ids):
    """The same rows by one hand-written query, streamed (server-side cursor)."""
    from django.conf import settings

    from anulaciones.models import Zonificacion

    etiquetas = dict(Zonificacion.TipoCorreccion.choices)
    with transaction.atomic(), connection.connection.cursor(name=f"wb{secrets.token_hex(4)}") as cur:
        cur.itersize = 2000
        cur.execute(SQL_WORKBOOK, {"ids": ids, "tz": settings.TIME_ZONE})
        for f in cur:
            yield f[:5] + (etiquetas[f[5]],) + f[6:]


def libro_real(destino, ids):
    from anulaciones.reports import workbook

    return workbook.escribir(destino, workbook.filas_de(ids), MES_BENCH)


def libro_xlsxwriter(destino, ids):
    import xlsxwriter

    from anulaciones.reports import workbook

    wb = xlsxwriter.Workbook(destino, {"constant_memory": True})
    ws = wb.add_worksheet("Casos")
    fecha = wb.add_format({"num_format": workbook.FORMATO_FECHA})
    ws.write_row(0, 0, [c[0] for c in workbook.COLUMNAS])
    n = 0
    for n, fila in enumerate(_filas_piso(ids), start=1):
        for c, v in enumerate(fila):
            if isinstance(v, datetime):
                ws.write_datetime(n, c, v, fecha)
            elif v is not None:
                ws.write(n, c, v)
    wb.close()
    return n


def libro_csv(destino, ids):
    n = 0
    with open(destino, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for n, fila in enumerate(_filas_piso(ids), start=1):
            w.writerow(fila)
    return n


def _memoria(k, bd):
    """Peak RSS growth of the real export of ``k`` rows, in a fresh process."""
    env = dict(os.environ, DATABASE_URL=bd, DJANGO_SETTINGS_MODULE="bench.settings")
    salida = subprocess.run(
        [sys.executable, "-m", "bench.memoria", str(k)], cwd=RAIZ, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(salida.strip().splitlines()[-1])


def libro(tamanos=(10_000, 100_000), reps=3, bd=None):
    res = {}
    with tempfile.TemporaryDirectory() as d:
        for k in tamanos:
            ids = crear_zonificaciones(k)
            try:
                fila = {}
                for nombre, fn in (("segundos", libro_real), ("xlsxwriter", libro_xlsxwriter), ("csv", libro_csv)):
                    ruta = os.path.join(d, f"{nombre}-{k}.{'csv' if nombre == 'csv' else 'xlsx'}")
                    veces = reps if k < 50_000 else 1  # a 100,000-row export takes minutes
                    t, _, n = medir(lambda fn=fn, ruta=ruta: fn(ruta, ids), veces)
                    fila[nombre], fila[f"filas_{nombre}"], fila["repeticiones"] = t, n, veces
                fila["mismas_filas"] = _mismas_filas(
                    os.path.join(d, f"segundos-{k}.xlsx"), os.path.join(d, f"csv-{k}.csv")
                )
                fila.update(_memoria(k, bd) if bd else {})
            finally:
                _sql("DELETE FROM anulaciones_zonificacion WHERE id = ANY(%s)", [ids], fetch=False)
                vacuum("anulaciones_zonificacion")
            res[k] = fila
    return res


def _mismas_filas(xlsx, csv_ruta):
    """The real workbook's first columns (Solicitud, OT numbers) equal the floor's, row by row."""
    from openpyxl import load_workbook

    wb = load_workbook(xlsx, read_only=True)
    real = [tuple(f[:2]) for f in wb["Casos"].iter_rows(min_row=2, values_only=True)]
    wb.close()
    with open(csv_ruta, encoding="utf-8") as f:
        piso = [tuple(f[:2]) for f in csv.reader(f)]
    return real == piso


# --- 5. Smartflex import ----------------------------------------------------------------------
# The file the import reads: the columns it expects, in its order (one list, the import's).
COLUMNAS_IMPORT = COLUMNAS


def archivo_import(ruta, k, prefijo):
    zonas = [c for (c,) in _sql("SELECT codigo FROM anulaciones_zona WHERE activa ORDER BY id")]
    asesores = [
        n
        for (n,) in _sql(
            "SELECT u.username FROM auth_user u JOIN auth_user_groups ug ON ug.user_id = u.id "
            "JOIN auth_group g ON g.id = ug.group_id WHERE g.name = 'ASESOR' "
            "AND u.is_active ORDER BY u.id"
        )
    ]
    with open(ruta, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNAS_IMPORT)
        for i in range(k):
            w.writerow(
                [
                    f"{prefijo}{i:07d}",
                    ("instalacion", "traslado", "migracion")[i % 3],
                    f"Cliente {i}",
                    str(5000000 + i),
                    f"7{i:07d}",
                    f"Calle {i % 997}",
                    str(i % 300),
                    zonas[i % len(zonas)],
                    "Frente a la plaza",
                    f"NAP-{i % 5000}",
                    "Fibra 100 Mbps",
                    f"Vendedor {i % 150}",
                    asesores[i % len(asesores)],
                    f"OT{prefijo}{i:07d}",
                    "2026-01-15 10:30",
                ]
            )


def importacion(k=50_000, reps=1):
    from anulaciones.importacion import importar

    gr = usuario("GESTION_RED")
    res = {"k": k, "tiempos": [], "tiempos_piso": []}
    with tempfile.TemporaryDirectory() as d:
        for rep in range(reps):
            prefijo = f"B{secrets.token_hex(3).upper()}"
            ruta = os.path.join(d, f"import-{rep}.csv")
            archivo_import(ruta, k, prefijo)
            t0 = time.perf_counter()
            r = importar(ruta, gr, nombre="benchmark.csv")
            res["tiempos"].append(time.perf_counter() - t0)
            creadas = _sql(
                "SELECT count(*) FROM anulaciones_solicitud WHERE numero_smartflex LIKE %s", [prefijo + "%"]
            )[0][0]
            t0 = time.perf_counter()
            with transaction.atomic():
                _sql(
                    "CREATE TEMP TABLE bench_import ("
                    + ", ".join(f"{c} text" for c in COLUMNAS_IMPORT)
                    + ") ON COMMIT DROP",
                    fetch=False,
                )
                with connection.connection.cursor() as cur, open(ruta, "rb") as f:
                    with cur.copy("COPY bench_import FROM STDIN WITH (FORMAT csv, HEADER true)") as copia:
                        while bloque := f.read(1 << 20):
                            copia.write(bloque)
                copiadas = _sql("SELECT count(*) FROM bench_import")[0][0]
            res["tiempos_piso"].append(time.perf_counter() - t0)
            res.setdefault("creadas", []).append((r.creadas, creadas, copiadas))
    res["segundos"] = statistics.median(res["tiempos"])
    res["piso"] = statistics.median(res["tiempos_piso"])
    res["mismo_resultado"] = all(a == b == c == k for a, b, c in res["creadas"])
    return res


# --- 6. a transition over HTTP ---------------------------------------------------------------
def _puerto_libre():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _esperar(puerto, ruta, limite=30):
    fin = time.monotonic() + limite
    while time.monotonic() < fin:
        try:
            c = http.client.HTTPConnection("127.0.0.1", puerto, timeout=2)
            c.request("GET", ruta)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn no respondió")


def _en_hilos(cliente, clientes):
    """Run ``cliente`` in ``clientes`` threads at once; the wall seconds until all ended."""
    hilos = [threading.Thread(target=cliente) for _ in range(clientes)]
    t0 = time.perf_counter()
    for h in hilos:
        h.start()
    for h in hilos:
        h.join()
    return time.perf_counter() - t0


def _carga(puerto, peticiones, clientes):
    """``peticiones``: (method, path, body, headers); ``clientes`` threads take them from one
    queue. Returns (wall seconds, latencies, statuses)."""
    cola = queue.Queue()
    for p in peticiones:
        cola.put(p)
    lat, estados, cerrojo = [], [], threading.Lock()

    def cliente():
        while True:
            try:
                metodo, ruta, cuerpo, cab = cola.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            c = http.client.HTTPConnection("127.0.0.1", puerto, timeout=60)
            c.request(metodo, ruta, body=cuerpo, headers=cab)
            r = c.getresponse()
            r.read()
            c.close()
            dt = time.perf_counter() - t0
            with cerrojo:
                lat.append(dt)
                estados.append(r.status)

    return _en_hilos(cliente, clientes), lat, estados


def _percentil(valores, p):
    v = sorted(valores)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def _gunicorn(bd, workers):
    """gunicorn with ``workers`` sync workers (bench.settings, DEBUG off) on a free port, in its
    own process group: (process, port)."""
    puerto = _puerto_libre()
    env = dict(
        os.environ,
        DATABASE_URL=bd,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(16)),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    env.pop("PYTEST_VERSION", None)
    servidor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{puerto}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=RAIZ,
        env=env,
        start_new_session=True,
    )
    return servidor, puerto


def http_transicion(bd, peticiones=1000, rondas=3, clientes=32, workers=4):
    """gunicorn (``workers`` sync workers, bench.settings) on a free port; ``clientes``
    threads POST ``cerrar_sin_atencion`` on distinct open SIs (token of a GESTION_RED user) vs
    GET of the bare view reading one SI by pk."""
    from rest_framework.authtoken.models import Token

    gr = usuario("GESTION_RED")
    token = Token.objects.get_or_create(user=gr)[0].key
    servidor, puerto = _gunicorn(bd, workers)
    res = {"clientes": clientes, "workers": workers, "peticiones": peticiones, "rondas": []}
    try:
        _esperar(puerto, "/bench/fila/%d/" % crear_servicios(1, vence=timezone.now() + timedelta(days=1))[0])
        cab = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        for _ in range(rondas):
            ids = crear_servicios(peticiones, vence=timezone.now() + timedelta(days=1))
            # Warm every worker first (imports, connections), off the clock.
            _carga(puerto, [("GET", f"/bench/fila/{i}/", None, {}) for i in ids[:64]], clientes)
            t_p, lat_p, est_p = _carga(puerto, [("GET", f"/bench/fila/{i}/", None, {}) for i in ids], clientes)
            cuerpo = json.dumps({"nota": "benchmark"})
            t_r, lat_r, est_r = _carga(
                puerto, [("POST", f"/api/v1/servicios/{i}/cerrar_sin_atencion/", cuerpo, cab) for i in ids], clientes
            )
            cerrados = _sql(
                "SELECT count(*) FROM anulaciones_servicioingenieria WHERE id = ANY(%s) "
                "AND estado = 'cerrado_sin_atencion'",
                [ids],
            )[0][0]
            borrar_servicios(ids)
            res["rondas"].append(
                {
                    "rps": peticiones / t_r,
                    "p50": _percentil(lat_r, 50),
                    "p95": _percentil(lat_r, 95),
                    "rps_piso": peticiones / t_p,
                    "p50_piso": _percentil(lat_p, 50),
                    "p95_piso": _percentil(lat_p, 95),
                    "ok": est_r.count(200),
                    "ok_piso": est_p.count(200),
                    "cerrados": cerrados,
                }
            )
    finally:
        os.killpg(servidor.pid, signal.SIGTERM)
        servidor.wait(timeout=30)
    for clave in ("rps", "p50", "p95", "rps_piso", "p50_piso", "p95_piso"):
        res[clave] = statistics.median(r[clave] for r in res["rondas"])
    res["mismo_resultado"] = all(r["ok"] == r["ok_piso"] == r["cerrados"] == peticiones for r in res["rondas"])
    return res


# --- 7. a mixed load: 70 % page reads, 30 % API transitions (issue 13) -----------------------
def _sesion(user):
    """A logged-in session's key for ``user`` (the pages are read as a person would)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    backend = next(
        (b for b in settings.AUTHENTICATION_BACKENDS if b.endswith("ModelBackend")),
        settings.AUTHENTICATION_BACKENDS[-1],
    )
    s = SessionStore()
    s[SESSION_KEY], s[BACKEND_SESSION_KEY], s[HASH_SESSION_KEY] = str(user.pk), backend, user.get_session_auth_hash()
    s.create()
    return s.session_key


SQL_AUDITORIA_NUEVA = """
SELECT r.object_id, r.transicion, r.estado_origen, r.estado_destino
FROM anulaciones_registroauditoria r
WHERE r.content_type_id = %s AND r.object_id = ANY(%s) AND r.creado_at >= %s"""


def carga_mixta(bd, segundos=60, clientes=32, workers=4, lectura=0.7, semilla=13):
    """gunicorn (``workers`` sync workers) for ``segundos``; ``clientes`` threads, each request a
    page read (``lectura`` of them: home, Tablero, a case page, an OT page, the Solicitudes list,
    as Gestión de Red with a session) or an API transition (token: ``cerrar_sin_atencion`` on an
    open SI, or ``observar`` on a registered Solicitud; each object used once). Afterwards the
    audit invariant: one new audit row per accepted transition, from the state the object was in
    to the state it is in, and none for a refused one."""
    import random

    from django.contrib.contenttypes.models import ContentType
    from rest_framework.authtoken.models import Token

    from anulaciones.models import ServicioIngenieria, Solicitud

    gr = usuario("GESTION_RED")
    token = Token.objects.get_or_create(user=gr)[0].key
    sesion = _sesion(gr)
    n_obj = 40 * segundos  # more objects than the transitions a run can take
    sis = crear_servicios(n_obj, vence=timezone.now() + timedelta(days=1))
    sols = [
        f[0]
        for f in _sql("SELECT id FROM anulaciones_solicitud WHERE estado = 'registrada' ORDER BY id LIMIT %s", [n_obj])
    ]
    casos = [f[0] for f in _sql("SELECT id FROM anulaciones_solicitud ORDER BY random() LIMIT 500")]
    ots = [f[0] for f in _sql("SELECT id FROM anulaciones_ordendetrabajo ORDER BY random() LIMIT 500")]
    rng = random.Random(semilla)
    cerrojo = threading.Lock()
    pendientes = {"si": list(reversed(sis)), "sol": list(reversed(sols))}
    usados = {"si": [], "sol": []}
    pagina = {"Cookie": f"sessionid={sesion}"}
    api = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def siguiente():
        with cerrojo:
            if rng.random() < lectura:
                return "pagina", (
                    "GET",
                    rng.choice(
                        [
                            "/",
                            "/tablero/",
                            f"/solicitudes/{rng.choice(casos)}/",
                            f"/ordenes/{rng.choice(ots)}/",
                            "/solicitudes/",
                        ]
                    ),
                    None,
                    pagina,
                )
            clase = "si" if rng.random() < 0.5 or not pendientes["sol"] else "sol"
            if not pendientes[clase]:
                return None
            pk = pendientes[clase].pop()
            usados[clase].append(pk)
        if clase == "si":
            return "api", (
                "POST",
                f"/api/v1/servicios/{pk}/cerrar_sin_atencion/",
                json.dumps({"nota": "carga mixta"}),
                api,
            )
        return "api", (
            "POST",
            f"/api/v1/solicitudes/{pk}/observar/",
            json.dumps({"causa": "calle", "detalle": "carga mixta"}),
            api,
        )

    servidor, puerto = _gunicorn(bd, workers)
    medidas = {"pagina": [], "api": []}
    estados = {"pagina": [], "api": []}
    errores = []
    try:
        _esperar(puerto, "/bench/fila/%d/" % sis[0])
        _carga(puerto, [("GET", "/tablero/", None, pagina)] * 64, clientes)  # warm, off the clock
        inicio_bd = timezone.now()
        fin = time.monotonic() + segundos

        def cliente():
            while time.monotonic() < fin:
                item = siguiente()
                if item is None:
                    return
                tipo, (metodo, ruta, cuerpo, cab) = item
                t0 = time.perf_counter()
                try:
                    c = http.client.HTTPConnection("127.0.0.1", puerto, timeout=60)
                    c.request(metodo, ruta, body=cuerpo, headers=cab)
                    r = c.getresponse()
                    r.read()
                    c.close()
                    estado = r.status
                except OSError as e:  # a refused or dropped connection is an error too
                    estado = 0
                    with cerrojo:
                        errores.append(f"{metodo} {ruta}: {e}")
                dt = time.perf_counter() - t0
                with cerrojo:
                    medidas[tipo].append(dt)
                    estados[tipo].append((estado, ruta))

        duracion = _en_hilos(cliente, clientes)
    finally:
        os.killpg(servidor.pid, signal.SIGTERM)
        servidor.wait(timeout=30)

    # The audit invariant, per object the run touched.
    aceptadas = {ruta for estado, ruta in estados["api"] if estado == 200}
    rechazadas = {ruta for estado, ruta in estados["api"] if estado != 200}
    ct_si, ct_sol = (ContentType.objects.get_for_model(m).pk for m in (ServicioIngenieria, Solicitud))
    nuevas_si = _sql(SQL_AUDITORIA_NUEVA, [ct_si, usados["si"], inicio_bd])
    nuevas_sol = [f for f in _sql(SQL_AUDITORIA_NUEVA, [ct_sol, usados["sol"], inicio_bd])]
    estado_si = dict(_sql("SELECT id, estado FROM anulaciones_servicioingenieria WHERE id = ANY(%s)", [usados["si"]]))
    estado_sol = dict(_sql("SELECT id, estado FROM anulaciones_solicitud WHERE id = ANY(%s)", [usados["sol"]]))
    fallas = []
    por_objeto = {}
    for clase, filas, esperado, actual, ruta in (
        (
            "si",
            nuevas_si,
            ("cerrar_sin_atencion", "abierto", "cerrado_sin_atencion"),
            estado_si,
            "/api/v1/servicios/{}/cerrar_sin_atencion/",
        ),
        ("sol", nuevas_sol, ("observar", "registrada", "observada"), estado_sol, "/api/v1/solicitudes/{}/observar/"),
    ):
        for pk, transicion, origen, destino in filas:
            por_objeto.setdefault((clase, pk), []).append((transicion, origen, destino))
        for pk in usados[clase]:
            filas_pk = por_objeto.get((clase, pk), [])
            if ruta.format(pk) in aceptadas:
                if filas_pk != [esperado] or actual.get(pk) != esperado[2]:
                    fallas.append((clase, pk, filas_pk, actual.get(pk)))
            elif filas_pk and ruta.format(pk) in rechazadas:
                fallas.append((clase, pk, filas_pk, actual.get(pk)))
    borrar_servicios(sis)
    todas = medidas["pagina"] + medidas["api"]
    cuenta = lambda tipo, cond: sum(1 for e, _ in estados[tipo] if cond(e))  # noqa: E731
    return {
        "segundos": duracion,
        "clientes": clientes,
        "workers": workers,
        "peticiones": len(todas),
        "rps": len(todas) / duracion,
        "p50": _percentil(todas, 50),
        "p95": _percentil(todas, 95),
        "p99": _percentil(todas, 99),
        "paginas": len(medidas["pagina"]),
        "transiciones": len(medidas["api"]),
        "p95_paginas": _percentil(medidas["pagina"], 95) if medidas["pagina"] else 0,
        "p95_transiciones": _percentil(medidas["api"], 95) if medidas["api"] else 0,
        "errores": cuenta("pagina", lambda e: e == 0 or e >= 500) + cuenta("api", lambda e: e == 0 or e >= 500),
        "no_200": cuenta("pagina", lambda e: e != 200) + cuenta("api", lambda e: e != 200),
        "aceptadas": len(aceptadas),
        "auditoria_ok": not fallas,
        "fallas_auditoria": fallas[:10],
        "errores_red": errores[:10],
    }


# --- 8. reconciliation with Smartflex (issue 18) ----------------------------------------------
# The feed's header as a Smartflex export writes it (accents, capitals, spaces: the import folds
# them into its columns: «Número» → numero, «Teléfono» → cliente_telefono), and the floor's
# temporary table's column for each.
CABECERA_ESTADOS = [
    "Tipo",
    "Número",
    "Estado",
    "Fecha",
    "Motivo",
    "Usuario",
    "Documento",
    "Teléfono",
    "Dirección",
    "Cliente Nombre",
]
COLUMNAS_ESTADOS = [
    "tipo",
    "numero",
    "estado",
    "fecha",
    "motivo",
    "usuario",
    "documento",
    "telefono",
    "direccion",
    "cliente_nombre",
]
# The status words the benchmark writes, and what the import maps each to (conciliacion.ESTADOS).
PALABRAS_SF = {"Registrada": "registrada", "EN CURSO": "registrada", "Anulada": "anulada", "Instalada": "ejecutada"}
# The word of the status that agrees with each of the generator's states, per object; any other
# state: Registrada or EN CURSO.
DE_SOLICITUD = {"instalada": "Instalada", "anulada": "Anulada"}
DE_OT = {"ejecutada": "Instalada", "anulada": "Anulada"}
TABLAS_CONCILIACION = ("anulaciones_diferencia", "anulaciones_emparejamiento", "anulaciones_estadosmartflex")


def limpiar_conciliacion():
    """Back to the state before any feed: no Smartflex status, difference, proposed pair or
    status-feed import (the benchmark's database only). Nothing else is touched: with the
    default settings the import changes no Solicitud."""
    for tabla in TABLAS_CONCILIACION:
        _sql(f"DELETE FROM {tabla}", fetch=False)
    _sql("DELETE FROM anulaciones_importacionsmartflex WHERE clase = 'estados'", fetch=False)
    vacuum(*TABLAS_CONCILIACION)


# The sample: k generated Solicitudes spread evenly over the ids (the generator's ids are 1..n; a
# stride that is no divisor of 100, so every state of the generator's cycle of 100 is sampled).
SQL_MUESTRA_ESTADOS = """
SELECT s.numero_smartflex, s.estado, o.numero, o.estado, s.cliente_documento, s.cliente_telefono,
       s.calle || ' ' || s.numero_puerta, s.cliente_nombre, s.creado_at
FROM generate_series(0, %(k)s - 1) g
JOIN anulaciones_solicitud s ON s.id = 1 + (g::bigint * %(total)s) / %(k)s
JOIN anulaciones_ordendetrabajo o ON o.solicitud_id = s.id
WHERE s.numero_smartflex LIKE 'SF%%' ORDER BY g"""


def archivo_estados(ruta, k, semilla=18):
    """A status feed of ``k`` rows as Smartflex writes it (Windows-1252, ``;``, dd/mm/yyyy, a
    trailing empty line) over a sample of the generated Solicitudes spread over the whole table:
    three rows in four the Solicitud's number, one in four its OT's; mostly the status the
    application agrees with; about 5 % a cancellation only Smartflex knows (on a case still open in
    the application), 0.5 % an installation only Smartflex knows, 0.5 % a case cancelled in the
    application that Smartflex still shows as current, 1 % numbers the application does not
    know (half of them cancelled), and 2 % repeated rows (half the very same line again, half an
    older status of the same number, later in the file: the latest date wins). Returns the
    differences by class the feed holds, as the writer planted them."""
    import random

    rng = random.Random(semilla)
    tz = timezone.get_current_timezone()
    total = _sql("SELECT count(*) FROM anulaciones_solicitud WHERE numero_smartflex LIKE 'SF%%'")[0][0]
    base = k - k // 100 - k // 50  # rows over known numbers, before unknown numbers and repeats
    esperado = Counter()
    filas, repetir = [], []
    n_rep = k // 50
    a_repetir = set(rng.sample(range(base), n_rep)) if n_rep else set()
    ahora = timezone.now()
    with transaction.atomic(), connection.connection.cursor(name=f"sf{secrets.token_hex(4)}") as cur:
        cur.itersize = 5000
        cur.execute(SQL_MUESTRA_ESTADOS, {"total": total, "k": base})
        for j, (sf, s_estado, ot, o_estado, doc, tel, direccion, nombre, creado) in enumerate(cur):
            es_ot = j % 4 == 3
            numero, estado = (ot, o_estado) if es_ot else (sf, s_estado)
            palabra = (DE_OT if es_ot else DE_SOLICITUD).get(estado, "Registrada" if j % 2 else "EN CURSO")
            fecha = min(creado + timedelta(hours=6 + j % 48), ahora - timedelta(hours=1))
            motivo = usuario_sf = ""
            r = rng.random()
            vigente = s_estado not in ("anulada", "instalada") and o_estado not in ("anulada", "ejecutada")
            # The generator's cases: 55 % still open (planted: 9 % of them cancelled, 1 % installed
            # in Smartflex), 10 % cancelled (5 % of them still current in Smartflex).
            if vigente and r < 0.09:
                palabra, motivo, usuario_sf = "Anulada", "Cliente desistió; anulación pedida por teléfono", "sfcajero"
                esperado["anulada_en_smartflex"] += 1
            elif vigente and r < 0.10:
                palabra = "Instalada"
                esperado["ejecutada_en_smartflex"] += 1
            elif s_estado == "anulada" and r < 0.05:
                palabra = "Registrada"
                esperado["anulada_en_aplicacion"] += 1
            fila = [
                "OT" if es_ot else "Solicitud",
                numero,
                palabra,
                _fecha_sf(fecha, tz, j),
                motivo,
                usuario_sf,
                doc,
                tel,
                direccion,
                nombre,
            ]
            filas.append(fila)
            if j in a_repetir:
                repetir.append(fila)
    for i in range(k // 100):  # numbers the application does not know
        anulada = i % 2 == 0
        filas.append(
            [
                "Solicitud",
                f"SFX{i:08d}",
                "Anulada" if anulada else "Registrada",
                _fecha_sf(ahora - timedelta(days=1 + i % 30), tz, i),
                "Anulación directa en Smartflex" if anulada else "",
                "sfcajero",
                str(90_000_000 + i),
                f"6{i:07d}",
                f"Calle Nueva {i % 97} {i % 300}",
                f"Cliente Smartflex {i}",
            ]
        )
        esperado["sin_caso"] += anulada
    for i, fila in enumerate(repetir):
        if i % 2 == 0:
            filas.append(list(fila))  # the very same line
        else:  # an older status of the same number: the later one (already in the file) wins
            anterior = datetime.strptime(fila[3][:10], "%d/%m/%Y") - timedelta(days=3)
            filas.append([*fila[:2], "Registrada", anterior.strftime("%d/%m/%Y"), "", "", *fila[6:]])
    rng.shuffle(filas)  # the feed is in no particular order
    with open(ruta, "w", newline="", encoding="cp1252") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(CABECERA_ESTADOS)
        w.writerows(filas)
        f.write("\r\n")  # the trailing empty line Excel leaves
    return {"filas": len(filas), "desconocidas": k // 100, "repetidas": len(repetir), "diferencias": dict(esperado)}


def _fecha_sf(momento, tz, j):
    """dd/mm/yyyy HH:MM in local time, or dd/mm/yyyy alone for one row in ten (both appear)."""
    local = momento.astimezone(tz)
    return local.strftime("%d/%m/%Y") if j % 10 == 0 else local.strftime("%d/%m/%Y %H:%M")


# The floor: the same file copied into a temporary table and compared with the application in
# one query — the latest status per number by date, matched to a Solicitud by its number or to
# an OT by its own, and classified — with none of the import's bookkeeping (validation per row,
# the kept statuses, the difference rows, the import job).
SQL_CONCILIACION_PISO = """
WITH palabras(palabra, estado) AS (SELECT * FROM unnest(%(palabras)s::text[], %(estados)s::text[])),
f AS (
  SELECT DISTINCT ON (b.objeto, b.numero) b.objeto, b.numero, p.estado
  FROM (SELECT CASE WHEN lower(tipo) = 'ot' THEN 'ot' ELSE 'solicitud' END AS objeto, trim(numero) AS numero,
               estado, to_timestamp(fecha, 'DD/MM/YYYY HH24:MI') AS fecha
        FROM bench_estados) b
  JOIN palabras p ON p.palabra = lower(trim(b.estado))
  ORDER BY b.objeto, b.numero, b.fecha DESC
),
m AS (
  SELECT f.estado, coalesce(s.id, so.id) IS NULL AS desconocido,
         (coalesce(s.estado, so.estado) = 'anulada' OR coalesce(os.estado, o.estado) = 'anulada') IS TRUE AS anulada,
         coalesce(s.estado, so.estado) IN ('pendiente_redigitacion', 'redigitada') AS redigitacion,
         (coalesce(s.estado, so.estado) = 'instalada' OR coalesce(os.estado, o.estado) = 'ejecutada') IS TRUE
           AS instalada
  FROM f
  LEFT JOIN anulaciones_solicitud s ON f.objeto = 'solicitud' AND s.numero_smartflex = f.numero
  LEFT JOIN anulaciones_ordendetrabajo os ON os.solicitud_id = s.id
  LEFT JOIN anulaciones_ordendetrabajo o ON f.objeto = 'ot' AND o.numero = f.numero
  LEFT JOIN anulaciones_solicitud so ON so.id = o.solicitud_id
)
SELECT clase, count(*) FROM (
  SELECT CASE
    WHEN desconocido THEN CASE WHEN estado = 'anulada' THEN 'sin_caso' END
    WHEN estado = 'anulada' THEN CASE WHEN NOT (anulada OR redigitacion) THEN 'anulada_en_smartflex' END
    WHEN anulada AND NOT redigitacion THEN 'anulada_en_aplicacion'
    WHEN estado = 'ejecutada' AND NOT (instalada OR anulada OR redigitacion) THEN 'ejecutada_en_smartflex'
  END AS clase FROM m) x
WHERE clase IS NOT NULL GROUP BY clase"""


def piso_conciliacion(ruta):
    """COPY of the feed into a temporary table, then SQL_CONCILIACION_PISO: {clase: count}."""
    palabras = [p.lower() for p in PALABRAS_SF]
    with transaction.atomic():
        _sql(
            "CREATE TEMP TABLE bench_estados (" + ", ".join(f"{c} text" for c in COLUMNAS_ESTADOS) + ") ON COMMIT DROP",
            fetch=False,
        )
        with connection.connection.cursor() as cur, open(ruta, "rb") as f:
            sql = "COPY bench_estados FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', ENCODING 'WIN1252')"
            with cur.copy(sql) as copia:
                bloque = f.read(1 << 20)
                while bloque:
                    siguiente = f.read(1 << 20)
                    # COPY refuses the trailing empty line: the file's last block without it.
                    copia.write(bloque if siguiente else bloque.rstrip(b"\r\n") + b"\r\n")
                    bloque = siguiente
        filas = _sql(SQL_CONCILIACION_PISO, {"palabras": palabras, "estados": list(PALABRAS_SF.values())})
    return dict(filas)


SQL_FOTO_CONCILIACION = """
SELECT (SELECT count(*) FROM anulaciones_estadosmartflex),
       (SELECT md5(string_agg(concat_ws('|', objeto, numero, estado, fecha, clave, solicitud_id), ','
                              ORDER BY objeto, numero)) FROM anulaciones_estadosmartflex),
       (SELECT md5(string_agg(concat_ws('|', id, fuente_id, clase, estado, solicitud_id), ',' ORDER BY id))
          FROM anulaciones_diferencia),
       (SELECT count(*) FROM anulaciones_registroauditoria),
       (SELECT max(id) FROM anulaciones_solicitud),
       (SELECT md5(string_agg(concat_ws('|', id, estado, version), ',' ORDER BY id))
          FROM anulaciones_solicitud WHERE id IN (SELECT solicitud_id FROM anulaciones_estadosmartflex))"""


def _diferencias_abiertas():
    return dict(_sql("SELECT clase, count(*) FROM anulaciones_diferencia WHERE estado = 'abierta' GROUP BY clase"))


def _memoria_conciliacion(ruta, bd, traza=False):
    """Peak memory of the reconciliation of ``ruta`` on a fresh state, in a fresh process
    (``python -m bench.memoria conciliacion RUTA``): RSS growth, or with ``traza`` the
    tracemalloc peak (Python objects only, and slower)."""
    env = dict(os.environ, DATABASE_URL=bd, DJANGO_SETTINGS_MODULE="bench.settings")
    env.pop("PYTEST_VERSION", None)
    orden = [sys.executable, "-m", "bench.memoria", "conciliacion", ruta] + (["--tracemalloc"] if traza else [])
    salida = subprocess.run(orden, cwd=RAIZ, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(salida.strip().splitlines()[-1])


def conciliacion(k=100_000, bd=None, reps=3, traza=False):
    """A status feed of ``k`` rows (``archivo_estados``) reconciled by ``conciliacion.importar``
    on a fresh state, then the same file again (idempotent: nothing may change), vs the floor
    (``piso_conciliacion``: COPY + one SQL join of the same keys, median of ``reps``), and the
    beat's check of every open difference (``diferencias.revisar_abiertas``: nothing to change).
    The differences the import opened, by class, must equal the floor's and the ones the writer
    planted. With ``bd``, the import's peak memory in a fresh process (RSS growth; with
    ``traza`` also the tracemalloc peak, in another fresh process: tracemalloc makes the import
    about five times slower, so the runner asks for it only with ``--tracemalloc``). Then
    ``emparejamiento.emparejar`` on the same data, with re-entries planted (``crear_reentradas``)."""
    from anulaciones import conciliacion as servicio
    from anulaciones import diferencias

    gr = usuario("GESTION_RED")
    res = {"k": k}
    limpiar_conciliacion()
    crear_reentradas()
    try:
        with tempfile.TemporaryDirectory() as d:
            ruta = os.path.join(d, "estados_smartflex.csv")
            res["archivo"] = archivo_estados(ruta, k)
            res["bytes"] = os.path.getsize(ruta)
            t0 = time.perf_counter()
            r = servicio.importar(ruta, gr, nombre="estados_smartflex.csv")
            res["segundos"] = time.perf_counter() - t0
            res["resultado"] = _resumen_importacion(r)
            res["diferencias"] = _diferencias_abiertas()
            antes = _sql(SQL_FOTO_CONCILIACION)[0]
            marca = timezone.now()
            t0 = time.perf_counter()
            r2 = servicio.importar(ruta, gr, nombre="estados_smartflex.csv")
            res["segundos_reimportar"] = time.perf_counter() - t0
            res["resultado_reimportar"] = _resumen_importacion(r2)
            res["idempotente"] = _sql(SQL_FOTO_CONCILIACION)[0] == antes
            res["estados_reescritos"] = _sql(
                "SELECT count(*) FROM anulaciones_estadosmartflex WHERE actualizado_at >= %s", [marca]
            )[0][0]
            # The beat «revisar-diferencias-smartflex»: every open difference compared again with
            # the application (which did not move: nothing opened, nothing removed).
            t0 = time.perf_counter()
            res["revisar"] = list(diferencias.revisar_abiertas())
            res["segundos_revisar"] = time.perf_counter() - t0
            res["piso"], tiempos, res["diferencias_piso"] = medir(lambda: piso_conciliacion(ruta), reps)
            res["tiempos_piso"] = tiempos
            res["mismo_resultado"] = (
                res["diferencias"] == res["diferencias_piso"] == res["archivo"]["diferencias"]
                and res["idempotente"]
                and res["revisar"] == [0, 0]
            )
            if bd:
                res["memoria"] = _memoria_conciliacion(ruta, bd)
                if traza:
                    res["memoria"].update(_memoria_conciliacion(ruta, bd, traza=True))
        res["emparejamiento"] = emparejamiento_medido()
    finally:
        limpiar_conciliacion()
    return res


def crear_reentradas(m=200):
    """Re-entries typed in Smartflex: for the ``m`` Solicitudes cancelled last within the window
    (``ANULACIONES_SMARTFLEX_VENTANA_HORAS``), a new Solicitud of the same customer registered 30
    minutes after the cancellation: the same document and phone (half of them), the same document
    and another phone (a quarter), the same phone and the document missing its last digit (a
    quarter, by the cancelled one's id); street and door copied. Numbered «RE» + the cancelled
    one's digits, born through ``crear_en_bloque`` as the Smartflex import births them. Kept
    between runs (the audit log is append-only): one planted already is not planted again, only
    given this plan's keys. Returns {cancelled pk: new number} of this run's."""
    from anulaciones import transitions
    from anulaciones.models import Solicitud

    ahora = timezone.now()
    ventana = Solicitud.ventana_redigitacion()
    campos = (
        "pk",
        "numero_smartflex",
        "tipo",
        "cliente_nombre",
        "cliente_documento",
        "cliente_telefono",
        "calle",
        "numero_puerta",
        "zona_id",
        "asesor_id",
        "anulada_at",
    )
    anuladas = list(
        Solicitud.objects.filter(
            estado=Solicitud.Estado.ANULADA,
            numero_smartflex__startswith="SF",
            anulada_at__gt=ahora - ventana + timedelta(minutes=5),
            anulada_at__lte=ahora - timedelta(minutes=5),
        )
        .order_by("-anulada_at")
        .values(*campos)[:m]
    )
    nuevo = {a["pk"]: "RE" + a["numero_smartflex"][2:] for a in anuladas}
    ya = set(Solicitud.objects.filter(numero_smartflex__in=nuevo.values()).values_list("numero_smartflex", flat=True))
    filas = [
        {
            **{c: a[c] for c in campos[2:-1]},
            "numero_smartflex": nuevo[a["pk"]],
            "creado_at": min(a["anulada_at"] + timedelta(minutes=30), ahora - timedelta(minutes=1)),
        }
        for a in anuladas
        if nuevo[a["pk"]] not in ya
    ]
    transitions.crear_en_bloque(transitions.usuario_sistema(), filas, nota="Benchmark: re-entrada en Smartflex")
    # The customer's keys of every planted one, this run's and earlier runs' (the plan may have
    # changed since), from its cancelled Solicitud.
    _sql(SQL_CLAVES_REENTRADAS, [], fetch=False)
    return nuevo


SQL_CLAVES_REENTRADAS = """
UPDATE anulaciones_solicitud n
SET cliente_documento = CASE WHEN a.id %% 4 = 3 THEN left(a.cliente_documento, -1) ELSE a.cliente_documento END,
    cliente_telefono = CASE WHEN a.id %% 4 = 2 THEN '6' || substr(a.cliente_telefono, 2) ELSE a.cliente_telefono END
FROM anulaciones_solicitud a
WHERE n.numero_smartflex LIKE 'RE%%' AND a.numero_smartflex = 'SF' || substr(n.numero_smartflex, 3)"""


SQL_PLANTADAS = """
SELECT a.id, n.id FROM anulaciones_solicitud n
JOIN anulaciones_solicitud a ON a.numero_smartflex = 'SF' || substr(n.numero_smartflex, 3)
WHERE n.numero_smartflex LIKE 'RE%%' AND a.estado IN ('anulada', 'pendiente_redigitacion')
  AND a.reemplazada_por_id IS NULL AND a.anulada_at >= %s AND a.anulada_at <= %s"""


def plantadas(ahora):
    """{cancelled pk: new pk} of the planted re-entries ``emparejar(ahora=ahora)`` must propose:
    those of this run and of earlier ones (the generated cancellations come within reach as the
    clock moves) whose cancellation it reads, the last two windows."""
    from anulaciones.models import Solicitud

    return dict(_sql(SQL_PLANTADAS, [ahora - 2 * Solicitud.ventana_redigitacion(), ahora]))


def emparejamiento_medido():
    """``emparejamiento.emparejar()`` (the beat's task body, also run at the end of each feed
    import) from no proposal: its time, and whether it proposed exactly the planted pairs."""
    from anulaciones import emparejamiento
    from anulaciones.models import Emparejamiento

    _sql("DELETE FROM anulaciones_emparejamiento", fetch=False)
    ahora = timezone.now()
    esperadas = plantadas(ahora)
    t0 = time.perf_counter()
    propuestas = emparejamiento.emparejar(ahora=ahora)
    segundos = time.perf_counter() - t0
    pares = set(Emparejamiento.objects.values_list("anulada_id", "nueva_id"))
    confianzas = Counter(Emparejamiento.objects.values_list("confianza", flat=True))
    return {
        "segundos": segundos,
        "propuestas": propuestas,
        "reentradas": len(esperadas),
        "confianzas": dict(sorted(confianzas.items())),
        "mismo_resultado": pares == set(esperadas.items()) and propuestas == len(esperadas),
    }


def _resumen_importacion(r):
    """The import's own counters (whatever the Resultado carries that is a number)."""
    return {c: v for c, v in vars(r).items() if isinstance(v, int) and not isinstance(v, bool)}
