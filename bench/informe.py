"""BENCHMARKS.md from the runner's results (also kept as JSON in var/bench.json)."""

import os
from datetime import UTC, datetime

NOTAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")


def _ms(s):
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def _r(a, b):
    return a / b if b else float("inf")


def _carga(segundos):
    return "kept from an earlier run (`--reusar`)" if segundos is None else f"{segundos} s"


def _ok(v):
    return "**yes**" if v else "**no**"


def filas(res):
    """(path, size, measured, floor, ratio, target, met, same result) per benchmark."""
    n = res["n"]
    out = []
    t = res.get("tablero")
    if t:
        out.append(
            (
                "Tablero de Control, first page with a filter `" + t["url"] + "` (test client)",
                f"{n:,}",
                f"{_ms(t['segundos'])}, {t['consultas']} queries, {t['filas']} rows",
                f"{_ms(t['piso'])} (1 query)",
                f"{_r(t['segundos'], t['piso']):.1f}×",
                "≤ 2×",
                _r(t["segundos"], t["piso"]) <= 2,
                t["mismas_filas"],
            )
        )
    b = res.get("barrido")
    if b:
        out.append(
            (
                f"Deadline sweep, {b['k']:,} due SIs (`barrer_plazos`, the Celery task body)",
                f"{n:,}",
                _ms(b["segundos"]),
                f"{_ms(b['piso'])} (UPDATE … RETURNING + INSERT)",
                f"{_r(b['segundos'], b['piso']):.1f}×",
                "≤ 3×",
                _r(b["segundos"], b["piso"]) <= 3,
                b["mismo_resultado"],
            )
        )
    c = res.get("recalculo")
    if c:
        out.append(
            (
                f"Calendar change, {c['k']:,} open SIs recomputed (`recalcular_plazos`, the Celery task body)",
                f"{n:,}",
                _ms(c["segundos"]),
                f"{_ms(c['piso'])} (the same values computed beforehand: UPDATE … FROM unnest + INSERT)",
                f"{_r(c['segundos'], c['piso']):.1f}×",
                "≤ 6×",
                _r(c["segundos"], c["piso"]) <= 6,
                c["mismo_resultado"],
            )
        )
    g = res.get("riesgo")
    if g:
        out.append(
            (
                f"Risk score of one registration (`FactorRiesgo.puntuar`) vs the registration itself "
                f"(`crear_solicitud`, scoring included; median of {g['reps']})",
                f"{n:,}",
                _ms(g["puntaje"]),
                f"{_ms(g['registro'])} (the registration)",
                f"{_r(g['puntaje'], g['registro']):.2f}×",
                "≤ 0.2×",
                _r(g["puntaje"], g["registro"]) <= 0.2,
                g["mismo_resultado"],
            )
        )
        out.append(
            (
                "Risk aggregates, nightly recomputation (`recalcular_factores`); "
                f"evaluation of {g['mes'][:7]} (`evaluar`, {g['evaluadas']:,} Solicitudes): {_ms(g['evaluar'])}",
                f"{n:,}",
                _ms(g["nocturno"]),
                "—",
                "—",
                "≤ 5 min",
                g["nocturno"] <= 300,
                g["mismo_resultado"],
            )
        )
    for clave, nombre in (("mes", "a month"), ("anio", "a year")):
        i = res.get("indicador", {}).get(clave)
        if i:
            out.append(
                (
                    f"Indicator, {nombre} ({i['periodo']}; {i['resultado']['probables']:,} probable cases)",
                    f"{n:,}",
                    f"{_ms(i['segundos'])} (the page's whole report: {_ms(i['informe_completo'])})",
                    f"{_ms(i['piso'])} (1 SQL aggregate)",
                    f"{_r(i['segundos'], i['piso']):.2f}×",
                    "≤ 1.5×",
                    _r(i["segundos"], i["piso"]) <= 1.5,
                    i["mismo_resultado"],
                )
            )
    for k, l in sorted((res.get("libro") or {}).items(), key=lambda x: int(x[0])):
        out.append(
            (
                f"Month-end workbook, {int(k):,} rows (`workbook.escribir`, openpyxl write-only)",
                f"{n:,}",
                _ms(l["segundos"]),
                f"xlsxwriter constant_memory {_ms(l['xlsxwriter'])}; csv {_ms(l['csv'])}",
                f"{_r(l['segundos'], l['xlsxwriter']):.2f}× xlsxwriter; {_r(l['segundos'], l['csv']):.1f}× csv",
                "≤ 1.0× xlsxwriter",
                _r(l["segundos"], l["xlsxwriter"]) <= 1.0,
                l["mismas_filas"],
            )
        )
    m = res.get("importacion")
    if m:
        out.append(
            (
                f"Smartflex import, {m['k']:,} CSV rows (`importacion.importar`)",
                f"{n:,}",
                _ms(m["segundos"]),
                f"{_ms(m['piso'])} (COPY of the same rows)",
                f"{_r(m['segundos'], m['piso']):.0f}×",
                "report the ratio",
                True,
                m["mismo_resultado"],
            )
        )
    q = res.get("conciliacion")
    if q:
        dif = sum(q["diferencias"].values())
        out.append(
            (
                f"Reconciliation with Smartflex, a {q['k']:,}-row status feed (`conciliacion.importar`, "
                f"Windows-1252 `;`): {dif:,} differences opened; the same file again "
                f"{_ms(q['segundos_reimportar'])}, nothing changed; every open difference checked again "
                f"(beat `revisar_diferencias`) {_ms(q['segundos_revisar'])}",
                f"{n:,}",
                _ms(q["segundos"])
                + (f"; peak RSS +{q['memoria']['crecimiento_mb']:.0f} MB" if q.get("memoria") else ""),
                f"{_ms(q['piso'])} (COPY + one SQL join of the same keys, states compared)",
                f"{_r(q['segundos'], q['piso']):.0f}×",
                "report the ratio",
                True,
                q["mismo_resultado"],
            )
        )
        e = q.get("emparejamiento")
        if e:
            out.append(
                (
                    f"Re-entry pairing (`emparejamiento.emparejar`): {e['propuestas']:,} pairs proposed "
                    f"for {e['reentradas']:,} planted re-entries",
                    f"{n:,}",
                    _ms(e["segundos"]),
                    "—",
                    "—",
                    "report the time",
                    True,
                    e["mismo_resultado"],
                )
            )
    h = res.get("http")
    if h:
        out.append(
            (
                f"A transition over HTTP (POST `cerrar_sin_atencion`, API token), {h['clientes']} clients, "
                f"gunicorn {h['workers']} workers",
                f"{n:,}",
                f"{h['rps']:.0f} req/s; p50 {_ms(h['p50'])}, p95 {_ms(h['p95'])}",
                f"bare view (1 row by pk): {h['rps_piso']:.0f} req/s; p50 {_ms(h['p50_piso'])}, "
                f"p95 {_ms(h['p95_piso'])}",
                f"{_r(h['rps'], h['rps_piso']):.2f}× the throughput",
                "≥ 0.5×",
                _r(h["rps"], h["rps_piso"]) >= 0.5,
                h["mismo_resultado"],
            )
        )
    x = res.get("mixta")
    if x:
        out.append(
            (
                f"Mixed load, {x['segundos']:.0f} s: 70 % pages (session) / 30 % API transitions (token), "
                f"{x['clientes']} clients, gunicorn {x['workers']} workers",
                f"{n:,}",
                f"{x['rps']:.0f} req/s ({x['paginas']:,} pages, {x['transiciones']:,} transitions); "
                f"p50 {_ms(x['p50'])}, p95 {_ms(x['p95'])}, p99 {_ms(x['p99'])}",
                f"errors (5xx or dropped): {x['errores']}; non-200: {x['no_200']}",
                "—",
                "0 errors, audit invariant",
                x["errores"] == 0 and x["auditoria_ok"],
                x["auditoria_ok"],
            )
        )
    return out


def escribir(ruta, resultados, comando="", duracion=0):
    for r in resultados:  # from JSON: the workbook's row counts come back as strings
        if r.get("libro"):
            r["libro"] = {int(k): v for k, v in r["libro"].items()}
    m = resultados[0]["maquina"] if resultados else {}
    fin = (resultados[0].get("fin") if resultados else None) or f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    lineas = [
        "# Benchmarks (issue 8)",
        "",
        f"Written by `{comando}`; the run ended {fin} UTC and took {duracion / 60:.0f} min.",
        "Reproduce: `make bench` (10k, 100k and 1M Solicitudes; `SIZES=10000,100000` for a shorter run).",
        "",
        "## Machine",
        f"- CPU: {m.get('cpu')} ({m.get('nucleos')} cores), RAM {m.get('ram_gb')} GB",
        f"- PostgreSQL {m.get('postgresql')} (local, 127.0.0.1), Python {m.get('python')}, {m.get('sistema')}",
        f"- load average at the start: {', '.join(f'{x:.1f}' for x in m.get('carga', []))} "
        "(a shared machine: absolute figures vary; each ratio is measured in the same run, path and floor "
        "back to back)",
        "",
        "## Data (`bench/generar.py`: set-based INSERT … SELECT generate_series, not the transition path)",
        "",
        "| Solicitudes | OTs | SIs (open) | zonifications | observations | audit rows | load time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in resultados:
        d = r["datos"]
        lineas.append(
            f"| {d['solicitud']:,} | {d['ordendetrabajo']:,} | {d['servicioingenieria']:,} "
            f"({d['servicios abiertos']:,}) | {d['zonificacion']:,} | {d['observacion']:,} | "
            f"{d['registroauditoria']:,} | {_carga(d['segundos'])} |"
        )
    lineas += [
        "",
        "## Results",
        "",
        "Times are medians of the repetitions; each floor is measured in the same run, on the same database, "
        "and returns the same rows or result as the path (last column).",
        "",
        "| path | size | measured | floor, same run | ratio | target | met | same result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in resultados:
        for f in filas(r):
            lineas.append("| " + " | ".join([*f[:6], _ok(f[6]), "yes" if f[7] else "NO"]) + " |")
    lineas += ["", "## What must not grow with the data", ""]
    tab = [r for r in resultados if r.get("tablero")]
    if len(tab) > 1:
        c = {f"{r['n']:,}": r["tablero"]["consultas"] for r in tab}
        base, ult = tab[0], tab[-1]
        ratio = _r(ult["tablero"]["segundos"], base["tablero"]["segundos"])
        lineas.append(
            f"- Tablero, in the table above (each size measured right after its load, minutes apart): "
            f"queries by size {c} → equal: {_ok(len(set(c.values())) == 1)}; time at "
            f"{ult['n']:,} = {ratio:.2f}× the time at {base['n']:,}."
        )
    inter = {int(k): v for k, v in ((resultados[0].get("tablero_intercalado") if resultados else None) or {}).items()}
    if len(inter) > 1:
        ns = sorted(inter)
        base, ult = inter[ns[0]], inter[ns[-1]]
        ratio = _r(ult["segundos"], base["segundos"])
        consultas = {n: inter[n]["consultas"] for n in ns}
        iguales = len({tuple(v) for v in consultas.values()}) == 1 and all(len(v) == 1 for v in consultas.values())
        tiempos = ", ".join(f"{n:,}: {_ms(inter[n]['segundos'])} (floor {_ms(inter[n]['piso'])})" for n in ns)
        lineas.append(
            f"- Tablero, measured again at the end of the run with the sizes alternated "
            f"({base['rondas']} rounds of {base['reps']} requests at each size; medians): {tiempos}; "
            f"queries {', '.join(f'{n:,}: {consultas[n][0]}' for n in ns)} → equal: {_ok(iguales)}; "
            f"time at {ns[-1]:,} = {ratio:.2f}× the time at {ns[0]:,} (target ≤ 1.5× from 10k to 1M) → "
            f"{_ok(ratio <= 1.5)}."
        )
    for r in resultados:
        for k, l in (r.get("libro") or {}).items():
            if "crecimiento_mb" in l:
                lineas.append(
                    f"- Workbook of {int(k):,} rows (database of {r['n']:,}): peak RSS of the process "
                    f"{l['rss_pico_mb']:.0f} MB (+{l['crecimiento_mb']:.0f} MB over the {l['rss_antes_mb']:.0f} MB "
                    "before the export; peak reset through /proc/self/clear_refs)."
                )
        q = r.get("conciliacion") or {}
        if q.get("memoria"):
            m = q["memoria"]
            traza = (
                f"; tracemalloc peak of the Python objects {m['tracemalloc_pico_mb']:.0f} MB"
                if "tracemalloc_pico_mb" in m
                else ""
            )
            lineas.append(
                f"- Reconciliation of a {q['k']:,}-row status feed (database of {r['n']:,}), in a fresh process: "
                f"peak RSS {m['rss_pico_mb']:.0f} MB (+{m['crecimiento_mb']:.0f} MB over the "
                f"{m['rss_antes_mb']:.0f} MB before the import; peak reset through /proc/self/clear_refs){traza}."
            )
        libro = r.get("libro") or {}
        ks = sorted(int(k) for k in libro)
        if len(ks) > 1 and "crecimiento_mb" in libro[ks[0]]:
            dif = libro[ks[-1]]["crecimiento_mb"] - libro[ks[0]]["crecimiento_mb"]
            lineas.append(
                f"- Peak memory growth from {ks[0]:,} to {ks[-1]:,} rows: {dif:.0f} MB "
                f"(target ≤ 50 MB) → {_ok(dif <= 50)}."
            )
    if os.path.exists(NOTAS):
        lineas += ["", open(NOTAS, encoding="utf-8").read().strip()]
    with open(ruta, "w", encoding="utf-8") as f:
        f.write("\n".join(lineas) + "\n")
