"""python -m bench.memoria K: peak RSS growth (MB) of the real workbook export of K
zonifications, in a fresh process (DJANGO_SETTINGS_MODULE=bench.settings, DATABASE_URL)."""
import json
import resource
import sys
import tempfile

import django


def main():
    k = int(sys.argv[1])
    django.setup()
    from bench import medidas

    ids = medidas.crear_zonificaciones(k)
    try:
        with tempfile.TemporaryFile() as tmp:
            antes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            medidas.libro_real(tmp, ids)
            despues = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        medidas._sql("DELETE FROM anulaciones_zonificacion WHERE id = ANY(%s)", [ids], fetch=False)
    print(json.dumps({"rss_antes_mb": antes / 1024, "rss_pico_mb": despues / 1024,
                      "crecimiento_mb": (despues - antes) / 1024}))


if __name__ == "__main__":
    main()
