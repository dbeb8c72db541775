"""The indicator of section III.2, computed by the database.

    indicador = casos probables no anulados × 100 / casos probables   (over a period)
    > umbral (ANULACIONES_UMBRAL_INDICADOR, 95): aceptado      ≤ umbral: observado

Definitions (shown on the page as one table with an example per row, docs/indicador.md):

- a *case* is a ``Caso``: a Solicitud plus the Solicitudes that re-digit it. It is represented
  here by its *current* Solicitud, the one nobody replaced (``reemplazada_por`` NULL): zone,
  asesor, tipo and state are those of the current Solicitud.
- *probable*: from its first observation (steps 2, 6, 14) or, for a case never observed, from
  its cancellation (every cancelled case is probable): ``Caso.probable_at``. The period of a case
  is the local date (settings.TIME_ZONE) of ``probable_at``, whenever it was cancelled
  afterwards. A case observed twice counts once.
- *anulado* (``Q_ANULADO``): the current Solicitud is ``anulada`` or ``pendiente_redigitacion``
  (anulado until the re-digitation is registered), or its OT is ``anulada``. A case saved by
  re-digitation is not anulado (its current Solicitud is the new one).
- *no anulado*: probable and not anulado — saved (re-digitated in time and installed, or
  installed) or still open.
- *abierto* (still open): not anulado and the current Solicitud not in a final state. It counts
  as not cancelled (the seed's formula), so while a period has open cases its figure is
  *provisional*, with its range: every open case cancelled (minimum) … every open case saved
  (maximum, the figure itself).
- the percentage has two decimals rounded toward the verdict: a figure above the threshold never
  prints as the threshold or below it (594/625 = 95.04 %; 19001/20000 = 95.005 % prints
  "95,01 %"), one at or below it never prints above it.
- area and cause of a case are those of its FIRST observation.
- *sin contacto*: anulados with no ``IntentoContacto`` on the case (3.3); of those, the ones
  whose cancellation carries a justification (``Solicitud.justificacion_anulacion``, 5.2).

Every number comes from an aggregate query; the number of queries is fixed whatever the size
of the period. ``casos()`` is the one queryset behind both a count and its drill-down list.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .. import diferencias
from ..espanol import cuenta, numero
from ..models import IntentoContacto, Observacion, OrdenDeTrabajo, ServicioIngenieria, Solicitud
from ..roles import Rol

MESES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]

# Outcome of a case, as used by the drill-down links.
RESULTADOS = {
    "probables": "Casos probables",
    "no_anulados": "No anulados",
    "anulados": "Anulados",
    "abiertos": "Aún abiertos",
    "sin_contacto": "Anulados sin intento de contacto registrado",
    "sin_contacto_justificados": "Anulados sin intento de contacto, con justificación",
}

# Anulado: the current Solicitud or its OT ended cancelled — including a case waiting for its
# re-digitation (its Solicitud was cancelled; only the registered re-entry saves it).
Q_ANULADO = Q(estado__in=[Solicitud.E.ANULADA, Solicitud.E.PENDIENTE_REDIGITACION]) | Q(
    orden__estado=OrdenDeTrabajo.E.ANULADA
)


# --- the period -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Periodo:
    desde: date
    hasta: date  # inclusive

    @classmethod
    def mes(cls, anio: int, mes: int) -> Periodo:
        return cls(date(anio, mes, 1), date(anio, mes, calendar.monthrange(anio, mes)[1]))

    @classmethod
    def actual(cls) -> Periodo:
        hoy = timezone.localdate()
        return cls.mes(hoy.year, hoy.month)

    @property
    def es_mes(self) -> bool:
        return self.desde.day == 1 and self == Periodo.mes(self.desde.year, self.desde.month)

    @property
    def inicio(self) -> datetime:
        """First instant of the period: local midnight of ``desde``."""
        return timezone.make_aware(datetime.combine(self.desde, time.min), timezone.get_current_timezone())

    @property
    def fin(self) -> datetime:
        """First instant after the period: local midnight after ``hasta`` (exclusive)."""
        return timezone.make_aware(
            datetime.combine(self.hasta + timedelta(days=1), time.min), timezone.get_current_timezone()
        )

    @property
    def etiqueta(self) -> str:
        if self.es_mes:
            return f"{MESES[self.desde.month - 1]} de {self.desde.year}"
        return f"del {self.desde:%d/%m/%Y} al {self.hasta:%d/%m/%Y}"

    def como_parametros(self) -> dict[str, str]:
        if self.es_mes:
            return {"mes": f"{self.desde:%Y-%m}"}
        return {"desde": self.desde.isoformat(), "hasta": self.hasta.isoformat()}

    def meses_tendencia(self, n: int = 12) -> list[Periodo]:
        """The n months ending with the month of ``hasta``, oldest first."""
        anio, mes = self.hasta.year, self.hasta.month
        res: list[Periodo] = []
        for _ in range(n):
            res.append(Periodo.mes(anio, mes))
            anio, mes = (anio - 1, 12) if mes == 1 else (anio, mes - 1)
        return res[::-1]


# --- the one queryset behind every count ----------------------------------------------------
def _primera_observacion(campo: str) -> Subquery:
    return Subquery(Observacion.objects.filter(caso=OuterRef("caso_id")).order_by("creado_at", "pk").values(campo)[:1])


# Filters of the drill-down; each dimension is a column the breakdowns group by.
DIMENSIONES = {
    "zona": ("zona_id", "Zona"),
    "asesor": ("asesor_id", "Asesor"),
    "area": ("primera_area", "Área que detectó (primera observación)"),
    "causa": ("primera_causa", "Causa (primera observación)"),
    "tipo": ("tipo", "Tipo de solicitud"),
}


# Area and cause of a case never observed (probable from its cancellation): the value its
# breakdown row and drill-down link carry.
SIN_OBSERVACION = "sin_observacion"
SIN_OBSERVACION_ETIQUETA = "Sin observación (probable por su anulación)"


def casos(
    periodo: Periodo,
    *,
    resultado: str = "probables",
    causa_observada: str | None = None,
    primera: bool | None = None,
    **dimensiones: Any,
) -> QuerySet[Solicitud]:
    """The probable cases of the period (one row per case: its current Solicitud), annotated,
    optionally filtered by a dimension value, an outcome, or any observation with a cause.

    ``primera``: annotate area and cause of the first observation (by default only when
    filtering by them; the aggregate queries that do not use them skip the subqueries)."""
    qs = Solicitud.objects.filter(
        reemplazada_por__isnull=True, caso__probable_at__gte=periodo.inicio, caso__probable_at__lt=periodo.fin
    ).annotate(
        anulado=Case(When(Q_ANULADO, then=Value(True)), default=Value(False), output_field=BooleanField()),
        con_contacto=Exists(IntentoContacto.objects.filter(caso=OuterRef("caso_id"))),
    )
    if primera or (primera is None and (dimensiones.get("area") or dimensiones.get("causa"))):
        qs = qs.annotate(primera_area=_primera_observacion("area"), primera_causa=_primera_observacion("causa"))
    for nombre, valor in dimensiones.items():
        if nombre not in DIMENSIONES:
            raise ValueError(nombre)
        if valor == SIN_OBSERVACION and nombre in ("area", "causa"):
            qs = qs.filter(**{f"{DIMENSIONES[nombre][0]}__isnull": True})
        elif valor not in (None, ""):
            qs = qs.filter(**{DIMENSIONES[nombre][0]: valor})
    if causa_observada:
        qs = qs.filter(Exists(Observacion.objects.filter(caso=OuterRef("caso_id"), causa=causa_observada)))
    filtro = _FILTRO_RESULTADO[resultado]
    if filtro is not None:
        qs = qs.filter(filtro)
    return qs


_Q_ABIERTO = Q(anulado=False) & ~Q(estado__in=Solicitud.FINALES)
_FILTRO_RESULTADO = {
    "probables": None,
    "anulados": Q(anulado=True),
    "no_anulados": Q(anulado=False),
    "abiertos": _Q_ABIERTO,
    "sin_contacto": Q(anulado=True, con_contacto=False),
    "sin_contacto_justificados": Q(anulado=True, con_contacto=False) & ~Q(justificacion_anulacion=""),
}


def _conteos(contacto: bool = True) -> dict[str, Count]:
    conteos = {
        "probables": Count("pk"),
        "anulados": Count("pk", filter=Q(anulado=True)),
        "abiertos": Count("pk", filter=_Q_ABIERTO),
    }
    if contacto:
        conteos["sin_contacto"] = Count("pk", filter=_FILTRO_RESULTADO["sin_contacto"])
        conteos["sin_contacto_justificados"] = Count("pk", filter=_FILTRO_RESULTADO["sin_contacto_justificados"])
    return conteos


def _porcentaje(no_anulados: int, probables: int, umbral: float) -> float:
    """no_anulados × 100 / probables with two decimals, rounded toward the verdict: a figure
    above the threshold never prints as the threshold or below it, nor one at or below it above
    (594 of 625 is 95.04 %; 95.004 % prints 95.01 %; 95.005 % prints 95.01 %; 94.996 % prints 95.00 %,
    which is not above the threshold: observado, as its verdict)."""
    exacto = Fraction(no_anulados * 100, probables)
    valor = round(exacto, 2)
    if exacto > umbral and valor <= umbral:
        valor = Fraction(math.ceil(exacto * 100), 100)
    elif exacto <= umbral and valor > umbral:
        valor = Fraction(math.floor(exacto * 100), 100)
    return float(valor)


def _texto(valor: float) -> str:
    return f"{valor:.2f} %".replace(".", ",")


def indicador(probables: int, anulados: int, abiertos: int = 0) -> dict[str, Any]:
    """{'valor', 'veredicto': 'aceptado' | 'observado' | 'sin casos', 'texto', 'provisional',
    'rango'}. Open cases count as not cancelled (the seed's formula); while there are any, the
    figure is provisional and ``rango`` gives it with every open case cancelled (``minimo``) and
    every open case saved (``maximo``, the figure itself)."""
    umbral = settings.ANULACIONES_UMBRAL_INDICADOR
    if not probables:
        return {"valor": None, "veredicto": "sin casos", "texto": "sin casos", "provisional": False, "rango": None}
    no_anulados = probables - anulados
    valor = _porcentaje(no_anulados, probables, umbral)
    veredicto = "aceptado" if no_anulados * 100 > umbral * probables else "observado"
    res: dict[str, Any] = {
        "valor": valor,
        "veredicto": veredicto,
        "texto": _texto(valor),
        "provisional": bool(abiertos),
        "rango": None,
    }
    if abiertos:
        minimo = _porcentaje(no_anulados - abiertos, probables, umbral)
        res["rango"] = {
            "minimo": minimo,
            "maximo": valor,
            "texto": f"entre {_texto(minimo)} y {_texto(valor)}",
            "veredicto_minimo": ("aceptado" if (no_anulados - abiertos) * 100 > umbral * probables else "observado"),
        }
    return res


def aviso_provisional(abiertos: int, valor: Mapping[str, Any]) -> str:
    """ "provisional: 3 casos abiertos; entre 93,10 % y 95,04 %" — or "" for a final figure."""
    if not valor.get("provisional"):
        return ""
    casos_abiertos = "1 caso abierto" if abiertos == 1 else f"{abiertos} casos abiertos"
    return f"provisional: {casos_abiertos}; {valor['rango']['texto']}"


def _fila(conteos: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    p, a = conteos.get("probables", 0) or 0, conteos.get("anulados", 0) or 0
    abiertos = conteos.get("abiertos", 0) or 0
    valor = indicador(p, a, abiertos)
    fila = {
        "probables": p,
        "no_anulados": p - a,
        "anulados": a,
        "abiertos": abiertos,
        "sin_contacto": conteos.get("sin_contacto", 0) or 0,
        "sin_contacto_justificados": conteos.get("sin_contacto_justificados", 0) or 0,
        "indicador": valor,
        "aviso_provisional": aviso_provisional(abiertos, valor),
    }
    fila.update(extra)
    return fila


def _nombre_usuario(fila: Mapping[str, Any], prefijo: str) -> str:
    nombre = f"{fila.get(prefijo + '__first_name') or ''} {fila.get(prefijo + '__last_name') or ''}".strip()
    return nombre or fila.get(prefijo + "__username") or "—"


def desglose(periodo: Periodo, dimension: str) -> list[dict[str, Any]]:
    """One row per value of the dimension, each with its counts and its own indicator."""
    columna = DIMENSIONES[dimension][0]
    base = casos(periodo, primera=dimension in ("area", "causa"))
    if dimension == "zona":
        zonas = base.values("zona_id", "zona__nombre").annotate(**_conteos()).order_by("zona__nombre")
        return [_fila(f, valor=f["zona_id"], etiqueta=f["zona__nombre"]) for f in zonas]
    if dimension == "asesor":
        asesores = (
            base.values("asesor_id", "asesor__username", "asesor__first_name", "asesor__last_name")
            .annotate(**_conteos())
            .order_by("asesor__username")
        )
        return [_fila(f, valor=f["asesor_id"], etiqueta=_nombre_usuario(f, "asesor")) for f in asesores]
    etiquetas = {
        "area": dict(Observacion.Area.choices),
        "causa": dict(Observacion.Causa.choices),
        "tipo": dict(Solicitud.Tipo.choices),
    }[dimension]
    filas = {f[columna]: f for f in base.values(columna).annotate(**_conteos()).order_by(columna)}
    res = [_fila(filas[k], valor=k, etiqueta=etiquetas.get(k, k)) for k in etiquetas if k in filas] + [
        _fila(f, valor=k, etiqueta=str(k)) for k, f in filas.items() if k not in etiquetas and k is not None
    ]
    if None in filas:  # cases never observed: probable from their cancellation, no first observation
        res.append(_fila(filas[None], valor=SIN_OBSERVACION, etiqueta=SIN_OBSERVACION_ETIQUETA))
    return res


def tendencia(periodo: Periodo, n: int = 12) -> list[dict[str, Any]]:
    """The indicator of each of the n months ending with the period's last month (one query)."""
    meses = periodo.meses_tendencia(n)
    rango = Periodo(meses[0].desde, meses[-1].hasta)
    meses_leidos = (
        casos(rango)
        .annotate(mes=TruncMonth("caso__probable_at", tzinfo=timezone.get_current_timezone()))
        .values("mes")
        .annotate(**_conteos(contacto=False))
        .order_by("mes")
    )
    por_mes: dict[tuple[int, int], Mapping[str, Any]] = {}
    for f in meses_leidos:
        m = f["mes"]
        m = timezone.localtime(m) if isinstance(m, datetime) and timezone.is_aware(m) else m
        por_mes[(m.year, m.month)] = f
    filas = [
        _fila(
            por_mes.get((m.desde.year, m.desde.month), {}),
            mes=f"{m.desde:%Y-%m}",
            etiqueta=f"{MESES[m.desde.month - 1][:3]} {m.desde:%y}",
            periodo=m,
        )
        for m in meses
    ]
    for fila in filas:
        del fila["sin_contacto"], fila["sin_contacto_justificados"]  # not counted for the trend
    return filas


# --- root causes ------------------------------------------------------------------------------
def pareto(periodo: Periodo) -> list[dict[str, Any]]:
    """Observation causes of the period's cases (every observation, not only the first), most
    frequent first, with the cumulative share."""
    # Rows of values(), given their labels and shares below.
    filas = cast(
        "list[dict[str, Any]]",
        list(
            Observacion.objects.filter(caso__probable_at__gte=periodo.inicio, caso__probable_at__lt=periodo.fin)
            .values("causa")
            .annotate(observaciones=Count("pk"), casos=Count("caso_id", distinct=True))
            .order_by("-observaciones", "causa")
        ),
    )
    total = sum(f["observaciones"] for f in filas)
    etiquetas = dict(Observacion.Causa.choices)
    acumulado = 0
    for f in filas:
        acumulado += f["observaciones"]
        f["etiqueta"] = etiquetas.get(f["causa"], f["causa"])
        f["porcentaje"] = round(f["observaciones"] * 100 / total, 1)
        f["acumulado"] = round(acumulado * 100 / total, 1)
    return filas


def observadas_por_asesor(periodo: Periodo) -> list[dict[str, Any]]:
    """Per asesor: Solicitudes registered in the period, how many were observed, and the causes
    of those observations — who needs training on what (two queries)."""
    registradas = Solicitud.objects.filter(creado_at__gte=periodo.inicio, creado_at__lt=periodo.fin)
    filas = (
        registradas.annotate(observada=Exists(Observacion.objects.filter(solicitud=OuterRef("pk"))))
        .values("asesor_id", "asesor__username", "asesor__first_name", "asesor__last_name")
        .annotate(registradas=Count("pk"), observadas=Count("pk", filter=Q(observada=True)))
        .order_by("asesor__username")
    )
    causas = (
        Observacion.objects.filter(solicitud__in=registradas)
        .values("solicitud__asesor_id", "causa")
        .annotate(n=Count("pk"))
        .order_by("-n", "causa")
    )
    etiquetas = dict(Observacion.Causa.choices)
    por_asesor: dict[int, list[dict[str, Any]]] = {}
    for c in causas:
        por_asesor.setdefault(c["solicitud__asesor_id"], []).append(
            {"causa": c["causa"], "etiqueta": etiquetas.get(c["causa"], c["causa"]), "observaciones": c["n"]}
        )
    res = []
    for f in filas:
        res.append(
            {
                "asesor_id": f["asesor_id"],
                "asesor": _nombre_usuario(f, "asesor"),
                "registradas": f["registradas"],
                "observadas": f["observadas"],
                "porcentaje": round(f["observadas"] * 100 / f["registradas"], 1) if f["registradas"] else None,
                "causas": por_asesor.get(f["asesor_id"], []),
            }
        )
    res.sort(key=lambda r: (-(r["porcentaje"] or 0), r["asesor"]))
    return res


# --- deadlines and contact attempts ----------------------------------------------------------
def plazos_servicios(periodo: Periodo) -> list[dict[str, Any]]:
    """SIs opened in the period by tipo and destinatario: answered within the deadline (same
    working day; 2 hours for a re-digitation), late, closed without answer, still open."""
    filas = (
        ServicioIngenieria.objects.filter(creado_at__gte=periodo.inicio, creado_at__lt=periodo.fin)
        .values("tipo", "destinatario")
        .annotate(
            total=Count("pk"),
            en_plazo=Count("pk", filter=Q(estado=ServicioIngenieria.E.ATENDIDO, fuera_de_plazo=False)),
            fuera_de_plazo=Count("pk", filter=Q(estado=ServicioIngenieria.E.ATENDIDO, fuera_de_plazo=True)),
            sin_atencion=Count("pk", filter=Q(estado=ServicioIngenieria.E.CERRADO_SIN_ATENCION)),
            abiertos=Count("pk", filter=Q(estado__in=ServicioIngenieria.ABIERTOS)),
        )
        .order_by("tipo", "destinatario")
    )
    tipos = dict(ServicioIngenieria.Tipo.choices)
    res: list[dict[str, Any]] = []
    for f in cast("Iterable[dict[str, Any]]", filas):  # rows of values(), given their labels below
        f["tipo_etiqueta"] = tipos.get(f["tipo"], f["tipo"])
        f["destinatario_etiqueta"] = (
            Rol(f["destinatario"]).label if f["destinatario"] in Rol.values else f["destinatario"]
        )
        f["porcentaje"] = round(f["en_plazo"] * 100 / f["total"], 1) if f["total"] else None
        res.append(f)
    return res


def redigitaciones(periodo: Periodo) -> dict[str, Any]:
    """Re-digitations asked in the period (19.2): within 2 hours, late, still pending."""
    f = Solicitud.objects.filter(
        redigitacion_vence_at__isnull=False,
        redigitacion_vence_at__gte=periodo.inicio,
        redigitacion_vence_at__lt=periodo.fin,
    ).aggregate(
        total=Count("pk"),
        a_tiempo=Count("pk", filter=Q(estado=Solicitud.E.REDIGITADA, redigitacion_tardia=False)),
        tardias=Count("pk", filter=Q(estado=Solicitud.E.REDIGITADA, redigitacion_tardia=True)),
        pendientes=Count("pk", filter=Q(estado=Solicitud.E.PENDIENTE_REDIGITACION)),
    )
    f["porcentaje"] = round(f["a_tiempo"] * 100 / f["total"], 1) if f["total"] else None
    return f


# --- the whole report -------------------------------------------------------------------------
def informe(periodo: Periodo) -> dict[str, Any]:
    """Everything the page, the workbook and the JSON show, as plain data (one read-only
    transaction; on PostgreSQL without JIT, whose compile time, triggered by the correlated
    subqueries' cost estimate, exceeds these queries' run time)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return _informe(periodo)


def _informe(periodo: Periodo) -> dict[str, Any]:
    total = casos(periodo).aggregate(**_conteos())
    return {
        "periodo": {
            "desde": periodo.desde.isoformat(),
            "hasta": periodo.hasta.isoformat(),
            "etiqueta": periodo.etiqueta,
            "zona_horaria": settings.TIME_ZONE,
        },
        "umbral": settings.ANULACIONES_UMBRAL_INDICADOR,
        "total": _fila(total),
        "tendencia": tendencia(periodo),
        "desgloses": {d: {"titulo": DIMENSIONES[d][1], "filas": desglose(periodo, d)} for d in DIMENSIONES},
        "pareto": pareto(periodo),
        "asesores": observadas_por_asesor(periodo),
        "plazos": plazos_servicios(periodo),
        "redigitaciones": redigitaciones(periodo),
        "conciliacion": conciliacion(periodo),
    }


# --- reconciliation with Smartflex (issue 18.4): which figure is reconciled, as of which feed ------
def texto_conciliacion(c: diferencias.Cifras) -> dict[str, Any]:
    """How the indicator and /smartflex/conciliacion/ say as of which feed the figure is
    reconciled: ``de_archivo`` «Conciliado con el archivo X del dd/mm/aaaa HH:MM; estados de
    Smartflex hasta dd/mm/aaaa» (or that no feed was imported yet), ``texto`` the indicator's
    sentence, ``aviso`` what the cancellations still missing may do to the figure ("" without any)."""
    ultima = c.ultima_importacion
    faltan = f"Anulaciones de Smartflex que faltan: {numero(c.faltantes)}."
    if ultima is None:
        de_archivo = "Aún no se importó ningún archivo de estados de Smartflex"
        texto = "Cifra sin conciliar: aún no se importó un archivo de estados de Smartflex."
        if c.faltantes:
            texto = f"{texto} {faltan}"
    else:
        cuando = f" del {timezone.localtime(ultima.terminado_at):%d/%m/%Y %H:%M}" if ultima.terminado_at else ""
        hasta = (
            f"estados de Smartflex hasta {timezone.localtime(c.estados_hasta):%d/%m/%Y}"
            if c.estados_hasta
            else "sin estados guardados"
        )
        de_archivo = f"Conciliado con el archivo {ultima.nombre}{cuando}; {hasta}"
        texto = f"Cifra conciliada con Smartflex: archivo {ultima.nombre}{cuando} ({hasta}). {faltan}"
    aviso = (
        f"Hasta que se resuelvan, el indicador puede estar por encima del real: le faltarían hasta "
        f"{cuenta(c.faltantes, 'caso anulado', 'casos anulados')}."
        if c.faltantes
        else ""
    )
    return {
        "conciliada": ultima is not None,
        "archivo": ultima.nombre if ultima else None,
        "importacion": ultima.pk if ultima else None,
        "importada_at": ultima.terminado_at.isoformat() if ultima and ultima.terminado_at else None,
        "estados_hasta": c.estados_hasta.isoformat() if c.estados_hasta else None,
        "faltantes": c.faltantes,
        "de_archivo": de_archivo,
        "texto": texto,
        "aviso": aviso,
    }


def conciliacion(periodo: Periodo) -> dict[str, Any]:
    """The reconciliation line of the report (``texto_conciliacion`` of ``diferencias.cifras``:
    four aggregate queries, whatever the number of rows)."""
    return texto_conciliacion(diferencias.cifras(periodo))


REDONDEO = (
    "Porcentaje con dos decimales, redondeado hacia el veredicto: una cifra sobre el umbral nunca se "
    "imprime igual o bajo el umbral, ni una igual o bajo el umbral por encima de él "
    "(594/625 = 95,04 % aceptado; 19001/20000 = 95,005 % se imprime 95,01 %)."
)

# The definitions table of the page, the workbook and docs/indicador.md: term, definition, examples.
DEFINICIONES = [
    (
        "Caso probable",
        "Desde su primera observación (pasos 2, 6 o 14) o, si nunca fue observado, desde su anulación: "
        "todo caso anulado es probable. Cuenta en el periodo de esa fecha (hora local); observado varias "
        "veces, cuenta una vez.",
        (
            "Observada el 3/3 y anulada el 5/4 → probable de marzo, anulado.",
            "Anulada el 10/3 sin observación previa → probable de marzo (su anulación), anulado.",
        ),
    ),
    (
        "Anulado",
        "La Solicitud vigente (o su OT) terminó anulada, incluida una re-digitación que nunca llegó; un caso "
        "en espera de re-digitación cuenta como anulado hasta que se registre la nueva solicitud.",
        (
            "Anulada para re-digitación el 12/3, sin re-digitar → anulado hasta que se registre la nueva.",
            "Re-digitación que nunca llegó, anulada en definitiva pasadas las 2 horas → anulado.",
        ),
    ),
    (
        "Salvado",
        "Probable, no anulado y concluido: su Solicitud vigente quedó instalada, o fue re-digitada (la nueva "
        "solicitud es la vigente del caso y no está anulada).",
        ("Observada, corregida e instalada → salvado.", "Re-digitada a tiempo (o tarde) → salvado."),
    ),
    (
        "No anulado",
        "El numerador: salvados más abiertos (la fórmula del procedimiento cuenta un caso abierto como no anulado).",
        ("594 salvados o abiertos de 625 probables → 95,04 %.",),
    ),
    (
        "Abierto",
        "No anulado y la Solicitud vigente aún no llegó a un estado final (anulada, re-digitada, instalada). "
        "Cuenta como no anulado (la fórmula del procedimiento).",
        ("En corrección al cierre → abierto: cuenta como no anulado, cifra provisional.",),
    ),
    (
        "Provisional",
        "Un periodo con casos abiertos muestra su cifra como provisional, con su rango: entre el porcentaje "
        "con todos los abiertos anulados (mínimo) y con todos salvados (máximo, la cifra misma).",
        ("625 probables, 31 anulados, 12 abiertos → 95,04 %, provisional: entre 93,12 % y 95,04 %.",),
    ),
]


def como_json(datos: Mapping[str, Any]) -> dict[str, Any]:
    """The report without the objects JSON cannot carry. Each row's ``indicador`` keeps
    ``valor`` (two decimals, toward the verdict), ``texto``, ``veredicto``, ``provisional`` and
    ``rango`` (null, or {minimo, maximo, texto, veredicto_minimo}); the row's
    ``aviso_provisional`` is the same range in words ("" for a final figure)."""
    res = dict(datos)
    res["tendencia"] = [{k: v for k, v in f.items() if k != "periodo"} for f in datos["tendencia"]]
    res["redondeo"] = REDONDEO
    return res


def libro_xlsx(datos: Mapping[str, Any]) -> bytes:
    """The report as a workbook: a summary sheet, then one sheet per breakdown (bytes).
    Percentages are numbers with two decimals (format ``0.00``); a provisional row says so and
    carries its range («Mínimo % (abiertos anulados)», «Máximo %»). The rows of the breakdowns,
    the Pareto, the asesores and the deadlines carry names people typed (zones, asesores) or values
    read from the database: they go through ``fila_xlsx`` and stay text (never a formula)."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from ..exportar import fila_xlsx

    wb = Workbook(write_only=True)
    cab = [
        "Probables",
        "No anulados",
        "Anulados",
        "Aún abiertos",
        "Anulados sin contacto",
        "Sin contacto, con justificación",
        "Indicador %",
        "Veredicto",
        "Provisional",
        "Mínimo % (abiertos anulados)",
        "Máximo %",
    ]

    def pct(hoja: Any, valor: float | None) -> Any:  # openpyxl's sheet and cell
        celda = WriteOnlyCell(hoja, value=valor)
        celda.number_format = "0.00"
        return celda

    def cifras(hoja: Any, f: Mapping[str, Any]) -> list[Any]:
        v = f["indicador"]
        rango = v.get("rango") or {}
        return [
            f["probables"],
            f["no_anulados"],
            f["anulados"],
            f["abiertos"],
            f.get("sin_contacto"),
            f.get("sin_contacto_justificados"),
            pct(hoja, v["valor"]),
            v["veredicto"],
            "Sí" if v.get("provisional") else "No",
            pct(hoja, rango.get("minimo")),
            pct(hoja, rango.get("maximo")),
        ]

    p = datos["periodo"]
    total = datos["total"]
    hoja = wb.create_sheet("Resumen")
    hoja.append(["Indicador de anulaciones (COM-DSC-P10, III.2)"])
    hoja.append(["Periodo", p["etiqueta"], p["desde"], p["hasta"], p["zona_horaria"]])
    hoja.append(["Umbral %", datos["umbral"]])
    hoja.append([])
    hoja.append(cab)
    hoja.append(cifras(hoja, total))
    hoja.append(
        [
            f"Indicador: {total['indicador']['texto']} ({total['indicador']['veredicto']})"
            + (f"; {total['aviso_provisional']}" if total["aviso_provisional"] else "; cifra definitiva")
        ]
    )
    conciliada = datos.get("conciliacion")
    if conciliada:  # issue 18.4: as of which Smartflex feed (its name was typed by someone: text)
        hoja.append(fila_xlsx(hoja, [" ".join(t for t in (conciliada["texto"], conciliada["aviso"]) if t)]))
    hoja.append([])
    hoja.append(["Término", "Definición", "Ejemplos"])
    for termino, definicion, ejemplos in DEFINICIONES:
        hoja.append([termino, definicion, " / ".join(ejemplos)])
    hoja.append(["Redondeo", REDONDEO])
    hoja.append(["Área y causa", "Las de la primera observación del caso."])

    hoja = wb.create_sheet("Tendencia")
    hoja.append(["Mes"] + cab)
    for f in datos["tendencia"]:
        hoja.append([f["mes"]] + cifras(hoja, f))

    nombres = {"zona": "Zona", "asesor": "Asesor", "area": "Área", "causa": "Causa", "tipo": "Tipo"}
    for dim, bloque in datos["desgloses"].items():
        hoja = wb.create_sheet(nombres[dim])
        hoja.append([bloque["titulo"]] + cab)
        for f in bloque["filas"]:
            hoja.append(fila_xlsx(hoja, [f["etiqueta"]] + cifras(hoja, f)))
        hoja.append(["Total"] + cifras(hoja, total))

    hoja = wb.create_sheet("Pareto de causas")
    hoja.append(["Causa", "Observaciones", "Casos", "%", "% acumulado"])
    for f in datos["pareto"]:
        hoja.append(fila_xlsx(hoja, [f["etiqueta"], f["observaciones"], f["casos"], f["porcentaje"], f["acumulado"]]))

    hoja = wb.create_sheet("Observadas por asesor")
    hoja.append(["Asesor", "Solicitudes registradas", "Observadas", "% observadas", "Causas"])
    for f in datos["asesores"]:
        hoja.append(
            fila_xlsx(
                hoja,
                [
                    f["asesor"],
                    f["registradas"],
                    f["observadas"],
                    f["porcentaje"],
                    ", ".join(f"{c['etiqueta']} ({c['observaciones']})" for c in f["causas"]),
                ],
            )
        )

    hoja = wb.create_sheet("Plazos")
    hoja.append(
        [
            "Tipo de SI",
            "Destinatario",
            "Abiertos en el periodo",
            "Atendidos en plazo",
            "Atendidos fuera de plazo",
            "Cerrados sin atención",
            "Aún abiertos",
            "% en plazo",
        ]
    )
    for f in datos["plazos"]:
        hoja.append(
            fila_xlsx(
                hoja,
                [
                    f["tipo_etiqueta"],
                    f["destinatario_etiqueta"],
                    f["total"],
                    f["en_plazo"],
                    f["fuera_de_plazo"],
                    f["sin_atencion"],
                    f["abiertos"],
                    f["porcentaje"],
                ],
            )
        )
    r = datos["redigitaciones"]
    hoja.append([])
    hoja.append(["Re-digitaciones (19.2)", "Pedidas", "Dentro de 2 horas", "Tardías", "Pendientes", "% a tiempo"])
    hoja.append(["", r["total"], r["a_tiempo"], r["tardias"], r["pendientes"], r["porcentaje"]])

    salida = BytesIO()
    wb.save(salida)
    return salida.getvalue()
