"""Which pages each role may open: one table read by the navigation bar and by the pages' tests.

Each entry names the same set of roles its view checks (the constant the view itself reads),
so the bar never shows a link that answers 403 and never hides a page that a role may open.
A page outside the bar says from which page it is reached (``desde``)."""

from dataclasses import dataclass

from django.urls import reverse

from . import diferencias, entregas, importacion
from . import direcciones as D
from .models import Solicitud
from .reports import ROLES_INDICADOR
from .roles import Rol, roles_de
from .selectors import ROLES_TABLERO

# Every role sees some case except Div. Facturación, which receives the monthly deliveries and
# nothing else (models/base.py: VEN_TODO and en_alcance_de). The lists of Solicitudes and OTs
# answer 403 to a user with none of these roles (views/listas.py).
ROLES_CASOS = frozenset(Rol) - {Rol.FACTURACION}
TODOS = None  # any signed-in user
# Issue 19.4: who reads the evaluation of the risk score (its page and GET /api/v1/riesgo/evaluacion/).
ROLES_RIESGO = frozenset({Rol.GESTION_RED, Rol.JEFE_DIVISION})
# Issue 18: the reconciliation with Smartflex (/smartflex/conciliacion/ and /api/v1/smartflex/…):
# Gestión de Red and the COC resolve (``diferencias.ROLES``, checked again by the services); the
# jefe de división reads it, as he reads the indicator it corrects.
ROLES_CONCILIAR = frozenset(diferencias.ROLES)
ROLES_CONCILIACION = ROLES_CONCILIAR | {Rol.JEFE_DIVISION}


@dataclass(frozen=True)
class Pagina:
    clave: str
    etiqueta: str
    url_name: str
    roles: frozenset[str] | None = TODOS
    en_barra: bool = True
    desde: str = ""  # clave of the page that links to it, when not in the bar

    @property
    def url(self):
        return reverse(self.url_name)

    def abre(self, roles):
        return self.roles is TODOS or bool(roles & self.roles)


PAGINAS = (
    Pagina("inicio", "Inicio", "inicio"),
    Pagina("registrar", "Registrar solicitud", "solicitud_nueva", frozenset(Solicitud.ROLES_CREACION.roles)),
    Pagina("solicitudes", "Solicitudes", "solicitudes", ROLES_CASOS),
    Pagina("ordenes", "Órdenes de trabajo", "ordenes", ROLES_CASOS),
    Pagina("tablero", "Tablero de Control", "tablero", frozenset(ROLES_TABLERO)),
    Pagina("indicador", "Indicador", "indicador", ROLES_INDICADOR),
    Pagina("riesgo", "Riesgo", "riesgo_evaluacion", ROLES_RIESGO),
    Pagina("entregas", "Entregas a Facturación", "entregas", frozenset(entregas.ROLES_VEN)),
    Pagina("importar", "Importar", "importar", frozenset(importacion.ROLES)),
    Pagina("conciliacion", "Conciliación", "conciliacion", ROLES_CONCILIACION),
    Pagina("mapa", "Mapa", "direcciones_mapa", frozenset(D.ROLES_MAPA)),
    Pagina(
        "capa_sig",
        "Importar capa del SIG",
        "direcciones_importar",
        frozenset(D.ROLES_IMPORTACION),
        en_barra=False,
        desde="mapa",
    ),
    Pagina("notificaciones", "Notificaciones", "notificaciones", en_barra=False, desde="cuenta"),
    Pagina("contrasena", "Cambiar contraseña", "password_change", en_barra=False, desde="cuenta"),
)
POR_CLAVE = {p.clave: p for p in PAGINAS}


def puede(user, clave):
    """Whether ``user`` may open the page ``clave`` (what its view checks)."""
    return POR_CLAVE[clave].abre(roles_de(user))


def paginas_de(user):
    roles = roles_de(user)
    return [p for p in PAGINAS if p.abre(roles)]


def enlaces(user, ruta_actual=""):
    """The links of the bar for ``user``: [{clave, etiqueta, url, actual}]."""
    res = []
    for p in paginas_de(user):
        if not p.en_barra:
            continue
        url = p.url
        actual = ruta_actual == url if url == "/" else ruta_actual.startswith(url)
        res.append({"clave": p.clave, "etiqueta": p.etiqueta, "url": url, "actual": actual})
    return res


def contexto(request):
    """Context processor of the layout (settings: anulaciones.views.contexto.navegacion)."""
    user = getattr(request, "user", None)
    roles = roles_de(user)
    barra = enlaces(user, getattr(request, "path", "")) if roles or getattr(user, "is_authenticated", False) else []
    return {
        "mis_roles": roles,
        "nav_enlaces": barra,
        # Per page, whether it opens (templates may ask, e.g. ``nav.mapa``); the search box
        # looks among the cases, so it shows where the case lists do.
        "nav": {**{p.clave: p.abre(roles) for p in PAGINAS}, "buscar": bool(roles & ROLES_CASOS)},
    }
