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
