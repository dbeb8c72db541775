"""Helpers of the browser suites that look at every page (tests/test_accesibilidad.py,
tests/test_telefono.py, tests/test_capturas.py): demo-like data and the pages a role reaches."""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from anulaciones.roles import Rol

ROLES = [
    Rol.ASESOR,
    Rol.MONITORA,
    Rol.TEAM_LEADER,
    Rol.GESTION_RED,
    Rol.COC,
    Rol.COZ,
    Rol.TECNICO,
    Rol.JEFE_DIVISION,
    Rol.FACTURACION,
]
# Followed links that are not pages: files, the API and its docs, the admin.
NO_PAGINA = re.compile(r"\.(csv|xlsx|json|geojson|pdf|png|svg)$|/descargar/|^/api/|^/admin/|^/static/|^/media/")
# Always visited besides the links: the search with results, the notices, the password form.
SEMILLAS = ("/buscar/?q=SF", "/notificaciones/", "/cuentas/password_change/")
# A detail page is a kind of page per state (its buttons and panels differ).
DETALLE = re.compile(r"^/(solicitudes|ordenes)/N/$")
ACCION = re.compile(r"^/accion/\w+/\d+/\w+/$")


def datos_demo(esc):
    """Cases in every state of each machine (each through the transition path), so that every
    list has rows, every role finds work on its home and every transition has a case to act on;
    a delivery to Facturación, the notices these steps send, and an import with errors."""
    for estado in (
        "registrada",
        "observada",
        "en_correccion",
        "corregida",
        "en_instalacion",
        "instalada",
        "anulada",
        "pendiente_redigitacion",
        "redigitada",
    ):
        esc.solicitud(estado)
    for estado in ("generada", "asignada", "observada_en_campo", "reportada_coz", "en_coc", "ejecutada", "anulada"):
        esc.orden(estado)
    for estado, destinatario in (
        ("abierto", "ASESOR"),
        ("abierto", "GESTION_RED"),
        ("abierto", "COC"),
        ("vencido", "ASESOR"),
        ("atendido", "ASESOR"),
        ("cerrado_sin_atencion", "ASESOR"),
    ):
        esc.servicio(estado, destinatario)
    for estado in ("recibida", "digitada", "remitida"):
        esc.zonificacion(estado)
    # A Smartflex import that stopped on errors: its page lists them.
    from anulaciones.models import ImportacionSmartflex

    ImportacionSmartflex.objects.create(
        usuario=esc.u.coc,
        nombre="smartflex.csv",
        etapa="con_errores",
        total=3,
        procesadas=3,
        con_error=1,
        errores=[{"fila": 2, "columna": "zona", "mensaje": "Zona desconocida: «LPZ-X»."}],
        total_errores=1,
    )


class _Enlaces(HTMLParser):
    """The links of a page, the actions of its transition buttons, and its title (h1)."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.h1, self._en_h1 = [], "", False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "form" and ACCION.match(a.get("action") or ""):
            self.hrefs.append(a["action"])  # a button that posts at once: its page is the same step's form
        self._en_h1 = self._en_h1 or tag == "h1"

    def handle_endtag(self, tag):
        if tag == "h1":
            self._en_h1 = False

    def handle_data(self, data):
        if self._en_h1:
            self.h1 += data


def clave(url, h1=""):
    """One kind of page: its path with the numbers blanked; the Tablero's view; for a case or OT
    page, also its title with the identifiers blanked (its state)."""
    partes = urlsplit(url)
    ruta = re.sub(r"\d+", "N", partes.path)
    vista = re.search(r"(?:^|&)vista=([\w-]*)", partes.query)
    titulo = " ".join(re.sub(r"\S*\d\S*", "N", h1).split()) if DETALLE.match(ruta) else ""
    return ruta, vista.group(1) if vista else None, titulo


def paginas_de(client, user, semillas=SEMILLAS):
    """One URL per kind of page (``clave``) that ``user`` reaches by following the links (and the
    transition buttons) from its home page, in the order found. Crawled with the test client
    (GET only: nothing changes), so the browser only opens each kind once."""
    client.force_login(user)
    pendientes, vistos, paginas = ["/", *semillas], set(), {}
    while pendientes:
        url = pendientes.pop(0)
        k = clave(url)
        if url in vistos or (k in paginas and not DETALLE.match(k[0])):
            continue
        vistos.add(url)
        r = client.get(url)
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        p = _Enlaces()
        p.feed(r.content.decode())
        k = clave(url, p.h1)
        if k in paginas:
            continue
        paginas[k] = url
        for href in p.hrefs:
            partes = urlsplit(urljoin(url, href))
            if (
                partes.scheme not in ("", "http")
                or partes.netloc not in ("", "testserver")
                or NO_PAGINA.search(partes.path)
            ):
                continue
            destino = partes.path + (f"?{partes.query}" if partes.query else "")
            if destino not in vistos:
                pendientes.append(destino)
    client.logout()
    return list(paginas.values())
