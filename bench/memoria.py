"""Peak memory of a measured path in a fresh process (DJANGO_SETTINGS_MODULE=bench.settings,
DATABASE_URL):

    python -m bench.memoria K                           the real workbook export of K zonifications
    python -m bench.memoria conciliacion FILE [--tracemalloc]
                                                        the reconciliation of a status feed, on a
                                                        fresh state (issue 18)

The peak RSS is reset (``/proc/self/clear_refs``) after the fixture is in place, so only the
path's own memory counts: the growth includes what C libraries hold (psycopg's result buffers,
openpyxl's lxml). ``--tracemalloc`` reports instead the peak of the Python objects the path
allocated (tracemalloc slows it down; its time is not a measurement)."""

import gc
import json
import sys
import tempfile

import django


def _kb(campo):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(campo + ":"))


def _reiniciar_pico():
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    return _kb("VmRSS")


def libro(k):
    from bench import medidas

    ids = medidas.crear_zonificaciones(k)
    try:
        with tempfile.TemporaryFile() as tmp:
            antes = _reiniciar_pico()
            medidas.libro_real(tmp, ids)
            pico = _kb("VmHWM")
    finally:
        medidas._sql("DELETE FROM anulaciones_zonificacion WHERE id = ANY(%s)", [ids], fetch=False)
    return {"rss_antes_mb": antes / 1024, "rss_pico_mb": pico / 1024, "crecimiento_mb": (pico - antes) / 1024}


def conciliacion(ruta, traza=False):
    from anulaciones import conciliacion as servicio
    from bench import medidas

    gr = medidas.usuario("GESTION_RED")
    medidas.limpiar_conciliacion()
    if traza:
        import tracemalloc

        gc.collect()
        tracemalloc.start()
        servicio.importar(ruta, gr, nombre="estados_smartflex.csv")
        _, pico = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"tracemalloc_pico_mb": pico / 2**20}
    antes = _reiniciar_pico()
    servicio.importar(ruta, gr, nombre="estados_smartflex.csv")
    pico = _kb("VmHWM")
    return {"rss_antes_mb": antes / 1024, "rss_pico_mb": pico / 1024, "crecimiento_mb": (pico - antes) / 1024}


def main():
    django.setup()
    if sys.argv[1] == "conciliacion":
        res = conciliacion(sys.argv[2], traza="--tracemalloc" in sys.argv[3:])
    else:
        res = libro(int(sys.argv[1]))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
