"""Bulk data generator: a realistic data set written straight into the project's tables with
set-based ``INSERT … SELECT FROM generate_series`` statements run by PostgreSQL itself (no
transition path, no Python loop per row), consistent with the four machines' states.

For ``n`` Solicitudes over 24 months and 30 zones:
- one Caso and one OT per Solicitud; states spread as a working operator's would be;
- 0.3·n SIs, a third of them open (``abierto`` if due in the future, ``vencido`` otherwise:
  the deadline task has caught up), the rest ``atendido`` / ``cerrado_sin_atencion``;
- an Observacion (and ``Caso.probable_at``) on every observed case;
- 0.05·n Zonificaciones on executed OTs (recibida / digitada / remitida);
- the audit rows each object's path would have written (≈6 per Solicitud).

State of a Solicitud by ``i % 100`` (its OT and SIs follow):
  0–34 instalada (OT ejecutada; 0–4 with a Zonificacion) · 35–44 en_instalacion (OT asignada)
  45–59 registrada · 60–69 observada · 70–79 en_correccion (SI correccion open)
  80–89 corregida (SI atendido) · 90–99 anulada (OT anulada, SI cerrado_sin_atencion)
"""

import time

ZONAS = 30
MESES = 24
TZ = "America/La_Paz"

ROLES_FIJOS = {  # role -> how many users (ASESOR and TEAM_LEADER scale with n)
    "MONITORA": 3,
    "GESTION_RED": 5,
    "COC": 5,
    "COZ": ZONAS,
    "TECNICO": 2 * ZONAS,
    "JEFE_DIVISION": 1,
    "FACTURACION": 2,
}
ESTADO_SOLICITUD = """CASE
  WHEN b < 35 THEN 'instalada' WHEN b < 45 THEN 'en_instalacion' WHEN b < 60 THEN 'registrada'
  WHEN b < 70 THEN 'observada' WHEN b < 80 THEN 'en_correccion' WHEN b < 90 THEN 'corregida'
  ELSE 'anulada' END"""
ESTADO_ORDEN = """CASE
  WHEN b < 35 THEN 'ejecutada' WHEN b < 45 THEN 'asignada' WHEN b < 90 THEN 'generada' ELSE 'anulada' END"""
# Time of Solicitud i: spread evenly over the 24 months ending at the start of the run.
T = "(%(ahora)s::timestamptz - make_interval(secs => (%(n)s - i)::float8 * %(paso)s))"
SERIE = "FROM (SELECT i, i %% 100 AS b FROM generate_series(1, %(n)s) AS i) s"


def _usuarios(cur, n):
    """Users of every role with their Perfil (zone, team); returns {role: [ids]}."""
    asesores = max(10, min(500, n // 2000))
    cuantos = dict(ROLES_FIJOS, ASESOR=asesores, TEAM_LEADER=max(1, asesores // 10))
    ids = {}
    cur.execute(
        "INSERT INTO auth_group (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING", (list(cuantos),)
    )
    for rol, k in cuantos.items():
        cur.execute(
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                      is_active, date_joined)
               SELECT '!', false, lower(%(rol)s) || '_' || g, %(rol)s, g::text, '', false, true, now()
               FROM generate_series(1, %(k)s) g RETURNING id""",
            {"rol": rol, "k": k},
        )
        ids[rol] = sorted(r[0] for r in cur.fetchall())
        cur.execute(
            """INSERT INTO auth_user_groups (user_id, group_id)
                       SELECT u, (SELECT id FROM auth_group WHERE name = %s) FROM unnest(%s::int[]) u""",
            (rol, ids[rol]),
        )
    lideres = ids["TEAM_LEADER"]
    for rol, lista in ids.items():
        cur.execute(
            """INSERT INTO anulaciones_perfil (usuario_id, zona_id, team_leader_id)
               SELECT u, CASE WHEN %(zonal)s THEN 1 + (o - 1) %% %(z)s END,
                      CASE WHEN %(asesor)s THEN (%(lideres)s::int[])[1 + (o - 1) %% %(nl)s] END
               FROM unnest(%(ids)s::int[]) WITH ORDINALITY AS t(u, o)""",
            {
                "zonal": rol in ("COZ", "TECNICO"),
                "z": ZONAS,
                "asesor": rol == "ASESOR",
                "lideres": lideres,
                "nl": len(lideres),
                "ids": lista,
            },
        )
    return ids


CERO = {
    "boolean": "false",
    "text": "''",
    "character varying": "''",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "numeric": "0",
    "jsonb": "'[]'",
    "json": "'[]'",
}


def _ceros(cur, tablas):
    """Columns added by other features (NOT NULL, no database default) get a neutral default
    while loading, so the generator keeps working as the schema grows; returns the undo SQL."""
    cur.execute(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = ANY(%s) AND is_nullable = 'NO'
                     AND column_default IS NULL AND column_name <> 'id'""",
        (tablas,),
    )
    deshacer = []
    for tabla, columna, tipo in cur.fetchall():
        if tipo in CERO:
            cur.execute(f'ALTER TABLE "{tabla}" ALTER COLUMN "{columna}" SET DEFAULT {CERO[tipo]}')
            deshacer.append(f'ALTER TABLE "{tabla}" ALTER COLUMN "{columna}" DROP DEFAULT')
    return deshacer


TABLAS = [
    f"anulaciones_{t}"
    for t in (
        "zona",
        "perfil",
        "caso",
        "solicitud",
        "ordendetrabajo",
        "observacion",
        "servicioingenieria",
        "zonificacion",
        "registroauditoria",
    )
]


def _sin_indices(cur, tablas):
    """Drop the secondary indexes of ``tablas`` (not those behind a primary key or unique
    constraint) and return their definitions: building an index once over the loaded rows is
    several times faster than maintaining it row by row (the trigram GIN indexes above all)."""
    cur.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
                   JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                   WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
        (tablas,),
    )
    definiciones = cur.fetchall()
    for nombre, _ in definiciones:
        cur.execute(f'DROP INDEX "{nombre}"')
    return [d for _, d in definiciones]


def generar(conn, n, ahora=None, log=print, confirmar=True):
    """Load ``n`` Solicitudes (and everything around them) into an empty, migrated database
    through the psycopg connection ``conn``. Returns {table: rows} and the users by role.

    With ``confirmar`` (the runner's own database) the load runs as a bulk load would: secondary
    indexes are dropped and rebuilt afterwards, and, for a superuser, foreign-key triggers are
    off (``session_replication_role = replica``) — the SQL below is consistent by construction,
    and the test run (``confirmar=False``) keeps every foreign key checked, which proves it."""
    cur = conn.cursor()
    cur.execute("SELECT now()")
    ahora = ahora or cur.fetchone()[0]
    p = {"n": n, "ahora": ahora, "paso": MESES * 30.4 * 86400 / n, "z": ZONAS, "tz": TZ}
    inicio = time.perf_counter()
    deshacer = _ceros(cur, TABLAS)
    indices = _sin_indices(cur, TABLAS)
    cur.execute("SHOW is_superuser")
    sin_disparadores = confirmar and cur.fetchone()[0] == "on"
    if sin_disparadores:
        cur.execute("SET session_replication_role = replica")
    cur.execute("SET synchronous_commit = off")

    cur.execute(
        """INSERT INTO anulaciones_zona (id, codigo, nombre, activa)
                   SELECT z, 'Z' || lpad(z::text, 2, '0'), 'Zona ' || lpad(z::text, 2, '0'), true
                   FROM generate_series(1, %(z)s) z""",
        p,
    )
    ids = _usuarios(cur, n)
    p.update(
        asesores=ids["ASESOR"],
        na=len(ids["ASESOR"]),
        tecnicos=ids["TECNICO"],
        nt=len(ids["TECNICO"]),
        gr=ids["GESTION_RED"],
        coc=ids["COC"],
        monitora=ids["MONITORA"][0],
    )
    cur.execute("SELECT model, id FROM django_content_type WHERE app_label = 'anulaciones'")
    ct = dict(cur.fetchall())
    p.update(ct_s=ct["solicitud"], ct_o=ct["ordendetrabajo"], ct_si=ct["servicioingenieria"], ct_z=ct["zonificacion"])

    def paso(nombre, sql):
        t0 = time.perf_counter()
        cur.execute(sql, p)
        log(f"  {nombre}: {cur.rowcount:,} filas en {time.perf_counter() - t0:.1f} s")

    observada = "b >= 60"  # every case from observada on has had an observation
    paso(
        "casos",
        f"""INSERT INTO anulaciones_caso (id, creado_at, probable_at)
        SELECT i, {T}, CASE WHEN {observada} THEN {T} + interval '1 hour' END {SERIE}""",
    )
    paso(
        "solicitudes",
        f"""INSERT INTO anulaciones_solicitud (id, version, creado_at, actualizado_at,
          numero_smartflex, tipo, cliente_nombre, cliente_documento, cliente_telefono, calle, numero_puerta,
          referencias, caja_nap, plan, vendedor, observaciones, estado, motivo_anulacion, redigitacion_tardia,
          modificacion_pendiente, asesor_id, caso_id, registrada_por_id, zona_id, clave_calle, anulada_at)
        SELECT i, 0, {T}, {T} + interval '3 hours', 'SF' || lpad(i::text, 9, '0'),
          (ARRAY['instalacion','traslado','migracion'])[1 + i %% 3], 'Cliente ' || i, (1000000 + i)::text,
          '7' || lpad((i %% 10000000)::text, 7, '0'), 'Calle ' || (i %% 997), (i %% 300)::text,
          'Frente a la plaza ' || (i %% 50), 'NAP-' || (i %% 5000), 'Fibra ' || (50 * (1 + i %% 6)) || ' Mbps',
          'Vendedor ' || (i %% 150), '', {ESTADO_SOLICITUD},
          CASE WHEN b >= 90 THEN 'Cliente desiste tras observación' ELSE '' END, false, '',
          (%(asesores)s::int[])[1 + i %% %(na)s], i, (%(asesores)s::int[])[1 + i %% %(na)s], 1 + i %% %(z)s,
          (i %% 997)::text, CASE WHEN b >= 90 THEN {T} + interval '2 hours' END
        {SERIE}""",
    )
    paso(
        "ordenes",
        f"""INSERT INTO anulaciones_ordendetrabajo (id, version, creado_at, actualizado_at, numero,
          estado, datos_comerciales, datos_tecnicos, equipos, observacion_campo, solicitudes_adicionales, propuesta,
          motivo_anulacion, ejecutada_at, tecnico_id, solicitud_id, zona_id)
        SELECT i, 0, {T}, {T} + interval '3 hours', 'OT' || lpad(i::text, 9, '0'), {ESTADO_ORDEN}, '', '', '', '',
          '', '', CASE WHEN b >= 90 THEN 'Cliente desiste tras observación' ELSE '' END,
          CASE WHEN b < 35 THEN {T} + interval '2 days' END,
          CASE WHEN b < 45 THEN (%(tecnicos)s::int[])[1 + i %% %(nt)s] END, i, 1 + i %% %(z)s
        {SERIE}""",
    )
    paso(
        "observaciones",
        f"""INSERT INTO anulaciones_observacion (paso, area, causa, detalle, alcance,
          subsanable, creado_at, caso_id, registrada_por_id, orden_id, solicitud_id)
        SELECT CASE WHEN i %% 2 = 0 THEN '2' ELSE '6' END, CASE WHEN i %% 2 = 0 THEN 'GESTION_RED' ELSE 'COC' END,
          (ARRAY['calle','datos_tecnicos','caja_nap','datos_cliente','equipos','otro'])[1 + i %% 6],
          'Dirección incompleta, falta referencia', 'fondo', true, {T} + interval '1 hour', i,
          CASE WHEN i %% 2 = 0 THEN (%(gr)s::int[])[1 + i %% 5] ELSE (%(coc)s::int[])[1 + i %% 5] END, i, i
        {SERIE} WHERE {observada}""",
    )
    # SIs: one per case from en_correccion on (b 70-99): 0.3·n, open on en_correccion (0.1·n),
    # closed on corregida and anulada. Due at the local day's cut-off of the opening.
    vence = (
        f"(date_trunc('day', ({T} + interval '1 hour') AT TIME ZONE %(tz)s) + interval '23:59:59') AT TIME ZONE %(tz)s"
    )
    paso(
        "servicios",
        f"""INSERT INTO anulaciones_servicioingenieria (version, creado_at, actualizado_at, tipo,
          destinatario, vendedor, requerido, vence_at, estado, cerrado_at, respuesta, fuera_de_plazo,
          abierto_por_id, asesor_id, cerrado_por_id, observacion_id, orden_id, solicitud_id, zona_id)
        SELECT CASE WHEN b < 80 THEN 0 ELSE 1 END, {T} + interval '1 hour', {T} + interval '2 hours',
          'correccion', 'ASESOR', 'Vendedor ' || (i %% 150), 'Mejor referencia de la dirección', v,
          CASE WHEN b < 80 THEN CASE WHEN v < %(ahora)s THEN 'vencido' ELSE 'abierto' END
               WHEN b < 90 THEN 'atendido' ELSE 'cerrado_sin_atencion' END,
          CASE WHEN b >= 80 THEN {T} + interval '2 hours' END,
          CASE WHEN b >= 80 AND b < 90 THEN 'Referencia corregida' ELSE '' END, false,
          (%(gr)s::int[])[1 + i %% 5], (%(asesores)s::int[])[1 + i %% %(na)s],
          CASE WHEN b >= 80 AND b < 90 THEN (%(asesores)s::int[])[1 + i %% %(na)s]
               WHEN b >= 90 THEN (%(gr)s::int[])[1 + i %% 5] END,
          NULL, i, i, 1 + i %% %(z)s
        FROM (SELECT i, b, {vence} AS v FROM (SELECT i, i %% 100 AS b FROM generate_series(1, %(n)s) i) s0
              WHERE b >= 70) s
        ORDER BY i""",
    )
    paso(
        "zonificaciones",
        f"""INSERT INTO anulaciones_zonificacion (version, creado_at, actualizado_at,
          tipo_correccion, calle, referencia, caja_nap, latitud, longitud, estado, digitada_at, remitida_at,
          orden_id, recibida_por_id, solicitud_id, zona_anterior_id, zona_corregida_id)
        SELECT CASE WHEN e = 'recibida' THEN 0 WHEN e = 'digitada' THEN 1 ELSE 2 END, r, r,
          (ARRAY['zona','calle','referencia','caja_nap','coordenadas'])[1 + i %% 5], 'Calle ' || (i %% 997),
          'Casa de rejas verdes', 'NAP-' || (i %% 5000), -16.5 + (i %% 1000) / 10000.0, -68.15 + (i %% 700) / 10000.0,
          e, CASE WHEN e <> 'recibida' THEN r + interval '1 day' END,
          CASE WHEN e = 'remitida' THEN r + interval '20 days' END,
          i, (%(gr)s::int[])[1 + i %% 5], i, 1 + i %% %(z)s, 1 + (i + 1) %% %(z)s
        FROM (SELECT i, r, CASE WHEN r > %(ahora)s::timestamptz - interval '2 days' THEN 'recibida'
                               WHEN r > %(ahora)s::timestamptz - interval '25 days' THEN 'digitada'
                               ELSE 'remitida' END AS e
              FROM (SELECT i, {T} + interval '3 days' AS r FROM generate_series(1, %(n)s) i
                    WHERE i %% 100 < 5) s0) s""",
    )
    # Audit rows: what each path wrote (registrar + generar for all; then per state).
    paso(
        "auditoria",
        f"""INSERT INTO anulaciones_registroauditoria (object_id, objeto, transicion, paso,
          estado_origen, estado_destino, rol, creado_at, nota, caso_id, content_type_id, usuario_id)
        SELECT i, CASE WHEN a.m = 'o' THEN 'OT OT' ELSE 'Solicitud SF' END || lpad(i::text, 9, '0'),
          a.t, a.p, a.de, a.a, a.r, {T} + a.d, '', i, CASE WHEN a.m = 'o' THEN %(ct_o)s ELSE %(ct_s)s END,
          CASE WHEN a.r = 'ASESOR' THEN (%(asesores)s::int[])[1 + i %% %(na)s]
               WHEN a.r = 'TECNICO' THEN (%(tecnicos)s::int[])[1 + i %% %(nt)s]
               WHEN a.r = 'GESTION_RED' THEN (%(gr)s::int[])[1 + i %% 5] ELSE (%(coc)s::int[])[1 + i %% 5] END
        {SERIE} CROSS JOIN (VALUES
          ('s', 'registrar', '1', '', 'registrada', 'ASESOR', interval '0', 0, 100),
          ('o', 'generar', '1', '', 'generada', 'COC', interval '0', 0, 100),
          ('s', 'asignar_instalacion', '5.2', 'registrada', 'en_instalacion', 'GESTION_RED', interval '2 hours', 0, 45),
          ('o', 'asignar', '5.2', 'generada', 'asignada', 'GESTION_RED', interval '2 hours', 0, 45),
          ('o', 'ejecutar', '', 'asignada', 'ejecutada', 'TECNICO', interval '2 days', 0, 35),
          ('s', 'marcar_instalada', '12.1', 'en_instalacion', 'instalada', 'TECNICO', interval '2 days', 0, 35),
          ('s', 'observar', '2', 'registrada', 'observada', 'GESTION_RED', interval '1 hour', 60, 100),
          ('s', 'solicitar_correccion', '3', 'observada', 'en_correccion', 'GESTION_RED', interval '1 hour', 70, 100),
          ('s', 'digitar_modificacion', '4.1', 'en_correccion', 'corregida', 'ASESOR', interval '2 hours', 80, 90),
          ('s', 'anular', '5.2', 'en_correccion', 'anulada', 'GESTION_RED', interval '2 hours', 90, 100),
          ('o', 'coordinar_anulacion', '10', 'generada', 'anulada', 'COC', interval '2 hours', 90, 100)
        ) AS a(m, t, p, de, a, r, d, desde, hasta)
        WHERE b >= a.desde AND b < a.hasta""",
    )
    paso(
        "auditoria SI",
        """INSERT INTO anulaciones_registroauditoria (object_id, objeto, transicion, paso,
          estado_origen, estado_destino, rol, creado_at, nota, caso_id, content_type_id, usuario_id)
        SELECT si.id, 'SI ' || si.id || ' (Corrección)', x.t, x.p, x.de, si.estado, x.r, x.c, '', si.solicitud_id,
          %(ct_si)s, CASE WHEN x.t = 'abrir' THEN si.abierto_por_id ELSE si.cerrado_por_id END
        FROM anulaciones_servicioingenieria si CROSS JOIN LATERAL (VALUES
          ('abrir', '3.1', '', 'GESTION_RED', si.creado_at, true),
          (CASE WHEN si.estado = 'atendido' THEN 'atender' WHEN si.estado = 'vencido' THEN 'vencer'
                ELSE 'cerrar_sin_atencion' END, '5.2', 'abierto',
           CASE WHEN si.estado = 'atendido' THEN 'ASESOR' WHEN si.estado = 'vencido' THEN 'SISTEMA'
                ELSE 'GESTION_RED' END, coalesce(si.cerrado_at, si.vence_at), si.estado <> 'abierto')
        ) AS x(t, p, de, r, c, hay) WHERE x.hay""",
    )
    paso(
        "auditoria zonificaciones",
        """INSERT INTO anulaciones_registroauditoria (object_id, objeto, transicion,
          paso, estado_origen, estado_destino, rol, creado_at, nota, caso_id, content_type_id, usuario_id)
        SELECT z.id, 'Zonificación ' || z.id, 'recibir', '20.1', '', 'recibida', 'GESTION_RED', z.creado_at, '',
          z.solicitud_id, %(ct_z)s, z.recibida_por_id FROM anulaciones_zonificacion z""",
    )
    for tabla in ("zona", "caso", "solicitud", "ordendetrabajo"):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('anulaciones_{tabla}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM anulaciones_{tabla}))"
        )
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the foreign keys now (ALTER needs no pending ones)
    if sin_disparadores:
        cur.execute("RESET session_replication_role")
    for sql in deshacer:
        cur.execute(sql)
    t0 = time.perf_counter()
    cur.execute("SET maintenance_work_mem = '512MB'")
    for sql in indices:
        cur.execute(sql)
    cur.execute("RESET maintenance_work_mem")
    cur.execute("RESET synchronous_commit")
    log(f"  {len(indices)} índices reconstruidos en {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    if confirmar:  # the runner: commit, then VACUUM (outside a transaction) for the visibility map
        conn.commit()
        previo, conn.autocommit = conn.autocommit, True
        try:
            cur.execute("VACUUM ANALYZE")
        finally:
            conn.autocommit = previo
    else:  # inside a test's transaction
        cur.execute("ANALYZE")
    log(f"  VACUUM ANALYZE en {time.perf_counter() - t0:.1f} s")
    return contar(cur, segundos=round(time.perf_counter() - inicio, 1)), ids


def contar(cur, segundos):
    """{table: rows} of the generated data (the report's Data table), with the load's seconds."""
    cuentas = {}
    for tabla in (
        "caso",
        "solicitud",
        "ordendetrabajo",
        "servicioingenieria",
        "observacion",
        "zonificacion",
        "registroauditoria",
    ):
        cur.execute(f"SELECT count(*) FROM anulaciones_{tabla}")
        cuentas[tabla] = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM anulaciones_servicioingenieria WHERE estado IN ('abierto', 'vencido')")
    cuentas["servicios abiertos"] = cur.fetchone()[0]
    cuentas["segundos"] = segundos
    return cuentas


def main(argv=None):
    """``python -m bench.generar 100000 [--db URL]``: drop, re-create, migrate and load one database."""
    import argparse
    import os

    import psycopg

    from bench import bd

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("n", type=int, help="Solicitudes to load (10000, 100000, 1000000, ...)")
    p.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", bd.BD_DEFECTO))
    args = p.parse_args(argv)
    bd._entorno(args.db)
    bd._recrear(args.db)
    with psycopg.connect(args.db.replace("postgres://", "postgresql://", 1)) as conn:
        cuentas, _ = generar(conn, args.n)
    print(cuentas)


if __name__ == "__main__":
    main()
