"""python -m bench.memoria K: peak RSS growth (MB) of the real workbook export of K
zonifications, in a fresh process (DJANGO_SETTINGS_MODULE=bench.settings, DATABASE_URL).

The peak is reset (``/proc/self/clear_refs``) after the benchmark fixture is inserted, so only
the export's own memory counts."""

import gc
import json
import sys
import tempfile

import django


def _kb(campo):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(campo + ":"))


def main():
    k = int(sys.argv[1])
    django.setup()
    from bench import medidas

    ids = medidas.crear_zonificaciones(k)
    try:
        with tempfile.TemporaryFile() as tmp:
            gc.collect()
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
            antes = _kb("VmRSS")
            medidas.libro_real(tmp, ids)
            pico = _kb("VmHWM")
    finally:
        medidas._sql("DELETE FROM anulaciones_zonificacion WHERE id = ANY(%s)", [ids], fetch=False)
    print(
        json.dumps({"rss_antes_mb": antes / 1024, "rss_pico_mb": pico / 1024, "crecimiento_mb": (pico - antes) / 1024})
    )


if __name__ == "__main__":
    main()
