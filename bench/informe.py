"""BENCHMARKS.md from the runner's results (also kept as JSON in var/bench.json)."""
import os
from datetime import datetime, timezone

NOTAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTAS.md")


def _ms(s):
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def _r(a, b):
    return a / b if b else float("inf")


def _ok(v):
    return "**sí**" if v else "**no**"


def filas(res):
    """(path, size, measured, floor, ratio, target, met, same result) per benchmark."""
    n = res["n"]
    out = []
    t = res.get("tablero")
    if t:
        out.append(("Tablero de Control, 1.ª página con filtro `" + t["url"] + "` (test client)", f"{n:,}",
                    f"{_ms(t['segundos'])}, {t['consultas']} consultas, {t['filas']} filas",
                    f"{_ms(t['piso'])} (1 consulta)", f"{_r(t['segundos'], t['piso']):.1f}×", "≤ 2×",
                    _r(t["segundos"], t["piso"]) <= 2, t["mismas_filas"]))
    b = res.get("barrido")
    if b:
        out.append((f"Barrido de plazos, {b['k']:,} SIs vencidos (`barrer_plazos`, cuerpo de la tarea)", f"{n:,}",
                    _ms(b["segundos"]), f"{_ms(b['piso'])} (UPDATE … RETURNING + INSERT)",
                    f"{_r(b['segundos'], b['piso']):.1f}×", "≤ 3×", _r(b["segundos"], b["piso"]) <= 3,
                    b["mismo_resultado"]))
    for clave, nombre in (("mes", "un mes"), ("anio", "un año")):
        i = res.get("indicador", {}).get(clave)
        if i:
            out.append((f"Indicador, {nombre} ({i['periodo']}; {i['resultado']['probables']:,} casos probables)",
                        f"{n:,}", f"{_ms(i['segundos'])} (informe completo de la página: {_ms(i['informe_completo'])})",
                        f"{_ms(i['piso'])} (1 agregado SQL)", f"{_r(i['segundos'], i['piso']):.2f}×", "≤ 1.5×",
                        _r(i["segundos"], i["piso"]) <= 1.5, i["mismo_resultado"]))
    for k, l in sorted((res.get("libro") or {}).items(), key=lambda x: int(x[0])):
        out.append((f"Planilla de fin de mes, {int(k):,} filas (`workbook.escribir`)", f"{n:,}",
                    _ms(l["segundos"]), f"xlsxwriter constant_memory {_ms(l['xlsxwriter'])}; csv {_ms(l['csv'])}",
                    f"{_r(l['segundos'], l['xlsxwriter']):.2f}× xlsxwriter; {_r(l['segundos'], l['csv']):.1f}× csv",
                    "≤ 1.0× xlsxwriter", _r(l["segundos"], l["xlsxwriter"]) <= 1.0, l["mismas_filas"]))
    m = res.get("importacion")
    if m:
        out.append((f"Importación Smartflex, {m['k']:,} filas CSV (`importacion.importar`)", f"{n:,}",
                    _ms(m["segundos"]), f"{_ms(m['piso'])} (COPY de las mismas filas)",
                    f"{_r(m['segundos'], m['piso']):.0f}×", "informar", True, m["mismo_resultado"]))
    h = res.get("http")
    if h:
        out.append((f"Transición por HTTP (POST `cerrar_sin_atencion`, API con token), {h['clientes']} clientes, "
                    f"gunicorn {h['workers']} workers", f"{n:,}",
                    f"{h['rps']:.0f} req/s; p50 {_ms(h['p50'])}, p95 {_ms(h['p95'])}",
                    f"vista mínima (1 fila por pk): {h['rps_piso']:.0f} req/s; p50 {_ms(h['p50_piso'])}, "
                    f"p95 {_ms(h['p95_piso'])}", f"{_r(h['rps'], h['rps_piso']):.2f}× del caudal", "≥ 0.5×",
                    _r(h["rps"], h["rps_piso"]) >= 0.5, h["mismo_resultado"]))
    return out


def escribir(ruta, resultados, comando="", duracion=0):
    for r in resultados:  # from JSON: the workbook's row counts come back as strings
        if r.get("libro"):
            r["libro"] = {int(k): v for k, v in r["libro"].items()}
    m = resultados[0]["maquina"] if resultados else {}
    lineas = [
        "# Benchmarks (issue 8)",
        "",
        f"Generado por `{comando}`; corrida terminada el "
        f"{(resultados[0].get('fin') if resultados else None) or f'{datetime.now(timezone.utc):%Y-%m-%d %H:%M}'} UTC, "
        f"en {duracion / 60:.0f} min.",
        "Reproducir: `make bench` (tamaños 10k y 100k) o `make bench SIZES=10000,100000,1000000`.",
        "",
        "## Máquina",
        f"- CPU: {m.get('cpu')} ({m.get('nucleos')} núcleos), RAM {m.get('ram_gb')} GB",
        f"- PostgreSQL {m.get('postgresql')} (local, 127.0.0.1), Python {m.get('python')}, {m.get('sistema')}",
        f"- carga media al empezar: {', '.join(f'{x:.1f}' for x in m.get('carga', []))} "
        "(máquina compartida con otras sesiones de prueba: las cifras absolutas varían; los cocientes se miden "
        "en la misma corrida)",
        "",
        "## Datos (generados con `bench/generar.py`: INSERT … SELECT generate_series, no por las transiciones)",
        "",
        "| Solicitudes | OTs | SIs (abiertos) | zonificaciones | observaciones | auditoría | carga |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in resultados:
        d = r["datos"]
        lineas.append(f"| {d['solicitud']:,} | {d['ordendetrabajo']:,} | {d['servicioingenieria']:,} "
                      f"({d['servicios abiertos']:,}) | {d['zonificacion']:,} | {d['observacion']:,} | "
                      f"{d['registroauditoria']:,} | {d['segundos']} s |")
    lineas += ["", "## Resultados", "",
               "Tiempos: medianas de las repeticiones; el piso se mide en la misma corrida, sobre la misma base.",
               "", "| camino | tamaño | medido | piso, misma corrida | cociente | objetivo | ¿cumple? | mismas filas |",
               "|---|---|---|---|---|---|---|---|"]
    for r in resultados:
        for f in filas(r):
            lineas.append("| " + " | ".join([*f[:6], _ok(f[6]), "sí" if f[7] else "NO"]) + " |")
    lineas += ["", "## Tiempo y consultas que no deben crecer con los datos", ""]
    tab = [r for r in resultados if r.get("tablero")]
    if len(tab) > 1:
        c = {r["n"]: r["tablero"]["consultas"] for r in tab}
        base, ult = tab[0], tab[-1]
        ratio = _r(ult["tablero"]["segundos"], base["tablero"]["segundos"])
        lineas.append(f"- Tablero: consultas por tamaño {c} → {_ok(len(set(c.values())) == 1)} iguales; tiempo a "
                      f"{ult['n']:,} = {ratio:.2f}× el tiempo a {base['n']:,} (objetivo ≤ 1.5× entre 10k y 1M) → "
                      f"{_ok(ratio <= 1.5)}.")
    for r in resultados:
        for k, l in (r.get("libro") or {}).items():
            if "crecimiento_mb" in l:
                lineas.append(f"- Planilla {int(k):,} filas (a {r['n']:,}): pico de memoria del proceso "
                              f"{l['rss_pico_mb']:.0f} MB (+{l['crecimiento_mb']:.0f} MB sobre los {l['rss_antes_mb']:.0f} MB de antes "
                              "de exportar; pico reiniciado con /proc/self/clear_refs).")
        libro = r.get("libro") or {}
        ks = sorted(int(k) for k in libro)
        if len(ks) > 1 and "crecimiento_mb" in libro[ks[0]]:
            dif = libro[ks[-1]]["crecimiento_mb"] - libro[ks[0]]["crecimiento_mb"]
            lineas.append(f"- Crecimiento del pico de memoria de {ks[0]:,} a {ks[-1]:,} filas: {dif:.0f} MB "
                          f"(objetivo ≤ 50 MB) → {_ok(dif <= 50)}.")
    if os.path.exists(NOTAS):
        lineas += ["", open(NOTAS, encoding="utf-8").read().strip()]
    with open(ruta, "w", encoding="utf-8") as f:
        f.write("\n".join(lineas) + "\n")
