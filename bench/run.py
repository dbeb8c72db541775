"""Run every benchmark of issue 8 at the given sizes and write BENCHMARKS.md.

    python -m bench.run [--sizes 10000,100000,1000000] [--db postgres://postgres@127.0.0.1:5432/bench]

For each size the database is dropped, created, migrated and loaded by ``bench.generar``;
then each path and its floor are measured in the same run (medians of the repetitions).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from bench.bd import BD_DEFECTO, RAIZ, _borrar, _entorno, _nombre, _recrear


def _bd_tamano(bd, n):
    """One database per size (``bench_10000``, ``bench_100000``, …): all of them stay until the
    end of the run, for the interleaved Tablero pass, and for exploring afterwards."""
    partes = urlsplit(bd)
    return urlunsplit(partes._replace(path=f"{partes.path}_{n}"))


def _usar(bd):
    """Point Django's connection at the database ``bd`` (same server, another name)."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = _nombre(bd)


def tablero_intercalado(bds, rondas, reps, log):
    """The Tablero at every size again, the sizes alternated round by round, so the comparison
    of sizes is not skewed by the machine changing speed between them (a shared machine:
    docs/bench.md, "Diaries moved from code comments")."""
    from bench import medidas

    medidas_ = {n: [] for n in bds}
    for _ in range(rondas):
        for n, bd in bds.items():
            _usar(bd)
            medidas_[n].append(medidas.tablero(reps=reps))
    res = {}
    for n, lista in medidas_.items():
        res[n] = {
            "segundos": statistics.median(m["segundos"] for m in lista),
            "piso": statistics.median(m["piso"] for m in lista),
            "consultas": sorted({m["consultas"] for m in lista}),
            "rondas": rondas,
            "reps": reps,
        }
        log(f"   tablero intercalado {n:,}: {json.dumps(res[n])}")
    return res


def maquina():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0]
        c.execute("SHOW autovacuum")
        pg += f", autovacuum {c.fetchone()[0]}"
    return {
        "cpu": cpu,
        "nucleos": os.cpu_count(),
        "ram_gb": round(mem / 1024 / 1024, 1),
        "postgresql": pg,
        "python": platform.python_version(),
        "sistema": platform.platform(),
        "carga": os.getloadavg(),
    }


def _reusar(bd, url, n, log):
    """The database of this size kept by an earlier ``--conservar`` run, migrated to the current
    code and counted again (its load time stays unknown: None); None when there is none of ``n``
    Solicitudes, and the caller generates it."""
    import psycopg

    from bench import generar

    try:
        with psycopg.connect(url) as conn:
            with conn.cursor() as cur:
                # The generator's last number is there and no later one (other steps add
                # Solicitudes of their own numbering: BR…, B…).
                cur.execute(
                    "SELECT numero_smartflex FROM anulaciones_solicitud WHERE numero_smartflex = ANY(%s)",
                    [[f"SF{n:09d}", f"SF{n + 1:09d}"]],
                )
                if [f[0] for f in cur.fetchall()] != [f"SF{n:09d}"]:
                    return None
    except psycopg.Error:
        return None
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=RAIZ,
        check=True,
        env=dict(os.environ, DATABASE_URL=bd),
    )
    _usar(bd)
    log(f"== {n:,} Solicitudes: la base {_nombre(bd)} de una corrida anterior (--reusar)")
    with psycopg.connect(url) as conn:
        return generar.contar(conn.cursor(), segundos=None)


def un_tamano(n, bd, args, log):
    import psycopg
    from django.db import connections

    from bench import generar, medidas

    connections.close_all()
    url = bd.replace("postgres://", "postgresql://", 1)
    cuentas = _reusar(bd, url, n, log) if args.reusar else None
    if cuentas is None:
        _recrear(bd)
        _usar(bd)
        log(f"== {n:,} Solicitudes: generando")
        with psycopg.connect(url) as conn:
            cuentas, _ = generar.generar(conn, n, log=log)
    log(f"   {json.dumps(cuentas)}")
    res = {"n": n, "datos": cuentas, "maquina": maquina()}
    pasos = [
        ("tablero", lambda: medidas.tablero(reps=args.reps_rapidas)),
        ("indicador", lambda: medidas.indicador(reps=args.reps)),
        # The workbook's rows are one month's zonifications, whatever the size of the database:
        # measured once, on the largest database.
        ("libro", lambda: medidas.libro(tamanos=args.libro, reps=args.reps, bd=bd) if n == args.ultimo else None),
        ("barrido", lambda: medidas.barrido(k=args.barrido, reps=args.reps)),
        ("recalculo", lambda: medidas.recalculo(k=args.barrido, reps=1)),
        ("riesgo", lambda: medidas.riesgo(reps=args.reps_rapidas * 5)),
        ("http", lambda: medidas.http_transicion(bd, peticiones=args.peticiones, rondas=args.reps)),
        ("importacion", lambda: medidas.importacion(k=args.importacion, reps=args.reps_import)),
        ("mixta", lambda: medidas.carga_mixta(bd, segundos=args.mixta_segundos) if n == args.ultimo else None),
        # Issue 18: a status feed of a tenth of the Solicitudes, at most --conciliacion rows.
        (
            "conciliacion",
            lambda: medidas.conciliacion(
                k=min(args.conciliacion, n // 10), bd=bd, reps=args.reps, traza=args.tracemalloc
            ),
        ),
    ]
    for nombre, fn in pasos:
        if args.solo and nombre not in args.solo:
            continue
        t0 = time.perf_counter()
        res[nombre] = fn()
        if res[nombre] is None:
            del res[nombre]
            continue
        log(f"   {nombre} ({time.perf_counter() - t0:.0f} s): {json.dumps(res[nombre], default=str)[:600]}")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", BD_DEFECTO))
    p.add_argument("--salida", default=os.path.join(RAIZ, "BENCHMARKS.md"))
    p.add_argument("--json", default=os.path.join(RAIZ, "var", "bench.json"))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--reps-rapidas", type=int, default=20)
    p.add_argument("--reps-import", type=int, default=1)
    p.add_argument(
        "--conservar", action="store_true", help="keep the databases of every size after the run (dropped by default)"
    )
    p.add_argument(
        "--reusar",
        action="store_true",
        help="measure on the databases a --conservar run kept (same sizes) instead of generating them again",
    )
    p.add_argument(
        "--rondas-intercaladas",
        type=int,
        default=5,
        help="rounds of the Tablero at every size, alternated, at the end of the run",
    )
    p.add_argument("--barrido", type=int, default=100_000)
    p.add_argument("--libro", default="10000,100000")
    p.add_argument("--importacion", type=int, default=50_000)
    p.add_argument(
        "--conciliacion", type=int, default=100_000, help="rows of the Smartflex status feed (at most a tenth of n)"
    )
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also the tracemalloc peak of the reconciliation, in another fresh process (slow: about 5x the import)",
    )
    p.add_argument("--peticiones", type=int, default=1000)
    p.add_argument("--mixta-segundos", type=int, default=60, help="length of the mixed load (issue 13)")
    p.add_argument(
        "--solo",
        default="",
        help="comma-separated subset: tablero,indicador,libro,barrido,recalculo,riesgo,http,importacion,mixta,"
        "conciliacion",
    )
    p.add_argument(
        "--informe",
        action="store_true",
        help="only rewrite BENCHMARKS.md from the JSON of the last run (e.g. after editing bench/NOTES.md)",
    )
    args = p.parse_args(argv)
    if args.informe:
        from bench.informe import escribir

        with open(args.json) as f:
            datos = json.load(f)
        escribir(
            args.salida,
            datos,
            comando=datos[0].get("comando", "python -m bench.run"),
            duracion=datos[0].get("duracion", 0),
        )
        return
    args.libro = [int(x) for x in args.libro.split(",") if x]
    args.solo = [x for x in args.solo.split(",") if x]
    _entorno(args.db)
    sys.path.insert(0, RAIZ)
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # response.context for the Tablero's rows; mail to memory

    def log(m):
        print(m, flush=True)

    resultados = []
    inicio = time.time()
    tamanos = [int(x) for x in args.sizes.split(",") if x]
    args.ultimo = tamanos[-1]
    bds = {n: _bd_tamano(args.db, n) for n in tamanos}
    for n in tamanos:
        resultados.append(un_tamano(n, bds[n], args, log))
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(resultados, f, default=str, indent=1)
    if len(tamanos) > 1 and (not args.solo or "tablero" in args.solo):
        resultados[0]["tablero_intercalado"] = tablero_intercalado(
            bds, args.rondas_intercaladas, args.reps_rapidas, log
        )
    from bench.informe import escribir

    resultados[0]["comando"] = " ".join(["python -m bench.run"] + (argv or sys.argv[1:]))
    resultados[0]["duracion"] = time.time() - inicio
    resultados[0]["fin"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    with open(args.json, "w") as f:
        json.dump(resultados, f, default=str, indent=1)
    escribir(
        args.salida,
        resultados,
        comando=" ".join(["python -m bench.run"] + (argv or sys.argv[1:])),
        duracion=time.time() - inicio,
    )
    log(f"Escrito {args.salida}")
    if not args.conservar:  # about 3.5 GB for 10k + 100k + 1M
        from django.db import connections

        connections.close_all()
        for bd in bds.values():
            _borrar(bd)


if __name__ == "__main__":
    main()
