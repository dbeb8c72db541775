"""The per-process request metrics (issue 20.3), counted where they happen and exposed by
``anulaciones.metricas`` at ``/metricas``.

With several gunicorn workers each process counts its own requests: set PROMETHEUS_MULTIPROC_DIR
(an empty folder, wiped when the service starts) before the processes start, and prometheus-client
keeps these counters in files there that ``/metricas`` adds up, whichever worker answers the scrape.

Labels are bounded: the method (known verbs, else ``OTRO``), the route's name (never the raw
path: it would make one series per id), the status class (``2xx`` …).
"""

from prometheus_client import Counter, Histogram

PETICIONES = Counter(
    "anulaciones_peticiones",
    "Peticiones HTTP respondidas, por método, nombre de ruta y clase de estado.",
    ["metodo", "ruta", "clase"],
)
DURACION = Histogram(
    "anulaciones_peticion_duracion_segundos",
    "Duración de las peticiones HTTP, por nombre de ruta.",
    ["ruta"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FALLOS_BD = Counter(
    "anulaciones_fallos_bd",
    "Fallos de la base de datos respondidos como 409 (cruce) o 503 (conexión caída).",
    ["status"],
)

_METODOS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def metodo(nombre: str | None) -> str:
    """The HTTP method, or ``OTRO`` for one a client made up (a label and a log field stay bounded)."""
    return nombre if nombre in _METODOS else "OTRO"


def contar_peticion(metodo: str, ruta: str, status: int, segundos: float) -> None:
    PETICIONES.labels(metodo, ruta, f"{status // 100}xx").inc()
    DURACION.labels(ruta).observe(segundos)


def contar_fallo_bd(status: int) -> None:
    """Called where a database fault becomes a 409/503 answer (``middleware.respuesta_de_fallo``)."""
    FALLOS_BD.labels(str(status)).inc()
