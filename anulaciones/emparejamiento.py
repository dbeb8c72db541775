"""Re-entries that pair themselves (issue 18, item 3).

A new Solicitud that follows a cancelled one of the same customer — same document, phone or
normalized address (``claves``) — registered within ANULACIONES_SMARTFLEX_VENTANA_HORAS (48 h by
default) after the cancellation is proposed as its re-digitation: an ``Emparejamiento`` with a
confidence and the reasons shown on the reconciliation page. One click (``vincular``) takes the
transition ``Solicitud.vincular_redigitacion`` (19.2), which links it into the same case and judges
the 2-hour clock on the real times; ``descartar`` says it is not.

Confidence: document 50 + address 30 + phone 20 (100 at most). *Alta* (≥ 80) means the same
document AND the same address: with ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO such a pair is linked
without a person when it is the only high-confidence candidate of its cancelled Solicitud and its
new one is the candidate of no other (ambiguity waits for a person).

How the system may link: the automatic link goes through the same path as a person's
(``transitions.aplicar`` by the system user, role SISTEMA, audited as «El sistema»). The
transition names SISTEMA among its roles, and its body lets SISTEMA link only a pair whose data
itself proves it (same document and same address, recomputed from the two Solicitudes under
their locks), so the system's role cannot link anything weaker, whoever calls it — rather than a
second, unaudited path, or a proposal row the transition would have to trust.

``emparejar`` runs on the beat (every 5 minutes) and after each feed import; registration itself
does nothing extra. It is set-based: one read of the cancellations of the last two windows (the
``anulada_at`` index), one of the Solicitudes registered in the span they can pair with (the
``creado_at`` index, each checked alone in its case by the (caso, creado_at) index), one of the
proposals already made, one bulk insert; the keys are computed in Python for those rows only.

Lock order of a link: the cancelled Solicitud, then the new one (the transition path), then the
proposal. ``vincular`` takes them in that order before the transition re-enters them, so a
person's click, the automatic link and a link made from the case page queue on the cancelled
Solicitud instead of crossing; ``descartar`` holds only the proposal.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from . import reloj, transitions
from .errors import Conflicto, ErrorDominio, SinPermiso
from .models import Diferencia, Emparejamiento, Solicitud
from .models.solicitud import claves_cliente
from .roles import ROLES_DIGITACION, SISTEMA, USUARIO_SISTEMA, Permiso, Rol, roles_de

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

E = Solicitud.Estado
P = Emparejamiento.Estado
# Points per equal key, and the levels shown on the page.
PESOS = {"documento": 50, "direccion": 30, "telefono": 20}
ALTA = PESOS["documento"] + PESOS["direccion"]  # 80: same document and same address
MEDIA = PESOS["documento"]  # 50: the document alone, or address and phone
ETIQUETA = {"alta": "Alta", "media": "Media", "baja": "Baja"}
# The cancelled Solicitudes a re-entry may save, and the states a new one cannot be in.
CANCELADAS = (E.PENDIENTE_REDIGITACION, E.ANULADA)
NO_CANDIDATAS = (E.ANULADA, E.PENDIENTE_REDIGITACION, E.REDIGITADA)
# Who decides on a proposal (the transition's roles, the system apart).
PERMISO = Permiso(Rol.GESTION_RED, Rol.COC, *ROLES_DIGITACION)

_CAMPOS = (
    "pk",
    "numero_smartflex",
    "caso_id",
    "cliente_documento",
    "cliente_telefono",
    "calle",
    "numero_puerta",
    "creado_at",
)


# --- keys, confidence and reasons -----------------------------------------------------------------
def claves(
    documento: str | None, telefono: str | None, calle: str | None, numero_puerta: str | None
) -> tuple[str, str, str]:
    """(document, phone, address) normalized, each "" when too short to mean anything: document
    letters and digits in capitals (at least 4), phone the last 8 digits (at least 7), address
    ``texto.normalizar(calle + " " + numero_puerta)`` ending in a door number. The one
    definition is the model's (``models.solicitud.claves_cliente``): the transition checks the
    system's links with it."""
    return claves_cliente(documento, telefono, calle, numero_puerta)


def nivel(confianza: int) -> str:
    """«alta», «media» or «baja» (keys of ETIQUETA)."""
    return "alta" if confianza >= ALTA else "media" if confianza >= MEDIA else "baja"


def confianza_alta(e: Emparejamiento) -> bool:
    return e.confianza >= ALTA


def etiqueta(e: Emparejamiento) -> str:
    """«Alta (100 %)»: the level and the figure, as the page shows them."""
    return f"{ETIQUETA[nivel(e.confianza)]} ({e.confianza} %)"


def evaluar(anulada: Mapping[str, Any], nueva: Mapping[str, Any], inicio: datetime) -> tuple[int, list[str]]:
    """(confidence, reasons) of a new Solicitud as the re-entry of a cancelled one: both given as
    their data (field names of Solicitud), ``inicio`` the cancellation. The reasons quote the new
    one's data as typed."""
    ka = claves(anulada["cliente_documento"], anulada["cliente_telefono"], anulada["calle"], anulada["numero_puerta"])
    kn = claves(nueva["cliente_documento"], nueva["cliente_telefono"], nueva["calle"], nueva["numero_puerta"])
    confianza, motivos = 0, []
    if ka[0] and ka[0] == kn[0]:
        confianza += PESOS["documento"]
        motivos.append(f"Mismo documento ({nueva['cliente_documento'].strip()})")
    if ka[2] and ka[2] == kn[2]:
        confianza += PESOS["direccion"]
        motivos.append(f"Misma dirección ({' '.join(p for p in (nueva['calle'], nueva['numero_puerta']) if p)})")
    if ka[1] and ka[1] == kn[1]:
        confianza += PESOS["telefono"]
        motivos.append(f"Mismo teléfono ({nueva['cliente_telefono'].strip()})")
    motivos.append(f"Registrada {reloj.duracion_texto(nueva['creado_at'] - inicio)} después de la anulación")
    return confianza, motivos


# --- proposing ------------------------------------------------------------------------------------
def _inicio(fila: Mapping[str, Any]) -> datetime:
    """The cancellation a re-entry follows (``Solicitud.cancelada_at``)."""
    return fila["redigitacion_desde"] or fila["anulada_at"]


def _pares(ahora: datetime) -> tuple[dict[tuple[int, int], tuple[int, list[str]]], datetime]:
    """{(cancelled pk, new pk): (confidence, reasons)} of every pair the data supports now, and
    the lower bound of the cancellations read. Two queries."""
    ventana = Solicitud.ventana_redigitacion()
    desde_anulacion = ahora - 2 * ventana
    # Cancelled in the last two windows, or recorded lately with an older real date: a
    # cancellation made in Smartflex that reconciliation recorded days later is still paired with
    # the re-entry that followed it (the window is judged on the real times below).
    registradas_tarde = Diferencia.objects.filter(
        estado__in=[Diferencia.Estado.ANULACION_REGISTRADA, Diferencia.Estado.CASO_CREADO],
        resuelta_at__gte=desde_anulacion,
    ).values("solicitud_id")
    anuladas = [
        a
        for a in Solicitud.objects.filter(
            Q(anulada_at__gte=desde_anulacion) | Q(pk__in=registradas_tarde),
            estado__in=CANCELADAS,
            anulada_at__lte=ahora,
            reemplazada_por__isnull=True,
        )
        .order_by()
        .values(*_CAMPOS, "anulada_at", "redigitacion_desde")
        if any(claves(a["cliente_documento"], a["cliente_telefono"], a["calle"], a["numero_puerta"]))
    ]
    if not anuladas:
        return {}, desde_anulacion
    inicios = [_inicio(a) for a in anuladas]
    otras_del_caso = Solicitud.objects.filter(caso_id=OuterRef("caso_id")).exclude(pk=OuterRef("pk"))
    nuevas = (
        Solicitud.objects.filter(creado_at__gt=min(inicios), creado_at__lte=min(max(inicios) + ventana, ahora))
        .exclude(estado__in=NO_CANDIDATAS)
        .filter(~Exists(otras_del_caso))  # alone in its case: it replaces nobody, nobody joined it
        .order_by()
        .values(*_CAMPOS)
    )
    por_clave: defaultdict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for n in nuevas:
        for i, k in enumerate(claves(n["cliente_documento"], n["cliente_telefono"], n["calle"], n["numero_puerta"])):
            if k:
                por_clave[(i, k)].append(n)
    pares: dict[tuple[int, int], tuple[int, list[str]]] = {}
    for a, inicio in zip(anuladas, inicios, strict=True):
        candidatas: dict[int, dict[str, Any]] = {}
        for i, k in enumerate(claves(a["cliente_documento"], a["cliente_telefono"], a["calle"], a["numero_puerta"])):
            for n in por_clave.get((i, k), ()) if k else ():
                if n["caso_id"] != a["caso_id"] and inicio < n["creado_at"] <= inicio + ventana:
                    candidatas[n["pk"]] = n
        for n in candidatas.values():
            pares[(a["pk"], n["pk"])] = evaluar(a, n, inicio)
    return pares, desde_anulacion


def emparejar(*, ahora: datetime | None = None) -> int:
    """Propose every new Solicitud that follows a cancelled one of the same customer within the
    window as its re-digitation, and (ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO) link the
    unambiguous high-confidence pairs. Returns the number of new proposals.

    The cancelled ones read are those cancelled in the last two windows, not yet replaced: a run
    that did not happen for less than a window loses nothing. A pair proposed before is not
    proposed again — a discarded one never. A cancelled Solicitud with several candidates has them
    all, the page sorts them by confidence. Running it twice, or two at once, makes each proposal
    once (the unique pair, inserted with ``ignore_conflicts``)."""
    ahora = ahora or timezone.now()
    pares, desde = _pares(ahora)
    if not pares:
        return 0
    ya = _ya_propuestos(desde)
    nuevos = [
        Emparejamiento(anulada_id=a, nueva_id=n, confianza=c, motivos=m)
        for (a, n), (c, m) in sorted(pares.items(), key=lambda p: (p[0][0], -p[1][0], p[0][1]))
        if (a, n) not in ya
    ]
    Emparejamiento.objects.bulk_create(nuevos, ignore_conflicts=True)
    if nuevos:
        log.info("Re-digitaciones propuestas: %s", len(nuevos))
    # An open proposal whose data changed since (a feed corrected the phone…) shows what holds now.
    cambiadas = [
        Emparejamiento(pk=ya[p][0], confianza=c, motivos=m)
        for p, (c, m) in pares.items()
        if p in ya and ya[p][1] == P.PROPUESTO and ya[p][2] != c
    ]
    if cambiadas:
        Emparejamiento.objects.bulk_update(cambiadas, ["confianza", "motivos"])
    if settings.ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO:
        vincular_automaticas({p: c for p, (c, _) in pares.items() if p not in ya or ya[p][1] != P.DESCARTADO})
    return len(nuevos)


def _ya_propuestos(desde: datetime) -> dict[tuple[int, int], tuple[int, str, int]]:
    """{(cancelled pk, new pk): (id, estado, confianza)} of the proposals about the cancellations read."""
    filas = (
        Emparejamiento.objects.filter(anulada__anulada_at__gte=desde, anulada__estado__in=CANCELADAS)
        .order_by()
        .values_list("anulada_id", "nueva_id", "pk", "estado", "confianza")
    )
    return {(a, n): (pk, estado, confianza) for a, n, pk, estado, confianza in filas}


def vincular_automaticas(confianzas: Mapping[tuple[int, int], int]) -> list[int]:
    """Link, as the system user, each high-confidence pair of ``confianzas`` ({(cancelled pk, new
    pk): confidence}, the pairs not discarded) that is the only one of its cancelled Solicitud and
    of its new one. Each in its own transaction: a refusal (the data changed since) is logged and
    leaves the proposal for a person. Returns the ids of the proposals linked."""
    altas = [p for p, c in confianzas.items() if c >= ALTA]
    # "The only one" among every candidate, not only the high ones: a new Solicitud that is also
    # another cancellation's (weaker) candidate, or a cancellation with a second candidate, is a
    # choice, and a choice waits for a person.
    por_anulada = Counter(a for a, _ in confianzas)
    por_nueva = Counter(n for _, n in confianzas)
    unicas = {p for p in altas if por_anulada[p[0]] == 1 and por_nueva[p[1]] == 1}
    if not unicas:
        return []
    ids = [
        pk
        for pk, a, n in Emparejamiento.objects.filter(
            estado=P.PROPUESTO, anulada_id__in=sorted({a for a, _ in unicas})
        ).values_list("pk", "anulada_id", "nueva_id")
        if (a, n) in unicas
    ]
    sistema = transitions.usuario_sistema()
    hechas = []
    for pk in ids:
        try:
            vincular(pk, sistema)
        except ErrorDominio as e:
            log.info("Re-digitación propuesta %s no vinculada automáticamente: %s", pk, e.mensaje)
        else:
            hechas.append(pk)
    return hechas


# --- deciding -------------------------------------------------------------------------------------
def _nombre(usuario: Any) -> str:
    if usuario is None:
        return "alguien"
    if usuario.get_username() == USUARIO_SISTEMA:
        return "el sistema"
    return usuario.get_full_name() or usuario.get_username()


def _ya_resuelta(e: Emparejamiento) -> str:
    cuando = f" el {timezone.localtime(e.resuelto_at):%d/%m/%Y %H:%M}" if e.resuelto_at else ""
    hechos: dict[str, str] = {P.VINCULADO: "vinculada", P.DESCARTADO: "descartada"}
    que = hechos.get(e.estado, e.get_estado_display().lower())
    return f"Esta re-digitación propuesta ya fue {que} por {_nombre(e.resuelto_por)}{cuando}."


def _propuesta(emparejamiento_id: int) -> Emparejamiento:
    e = Emparejamiento.objects.filter(pk=emparejamiento_id).first()
    if e is None:
        raise transitions.NoEncontrado(f"No existe la re-digitación propuesta {emparejamiento_id}.")
    return e


def vincular(emparejamiento_id: int, usuario: User, *, version: int | None = None, nota: str = "") -> Emparejamiento:
    """Link a proposal: the transition ``vincular_redigitacion`` on its cancelled Solicitud (as
    ``usuario``, who must be allowed it there), which marks this proposal ``vinculado`` and the
    other open proposals of either Solicitud ``descartado``. ``version``: the cancelled
    Solicitud's version the user saw (Conflicto if it moved). Conflicto, naming who and when,
    when the proposal was already linked or discarded; by the system user it is recorded as
    ``automatico``."""
    par = _propuesta(emparejamiento_id)
    with transaction.atomic():
        # The lock order of a link (module docstring): cancelled, new, proposal.
        anulada = Solicitud.objects.select_for_update().filter(pk=par.anulada_id).first()
        numero = (
            Solicitud.objects.select_for_update()
            .filter(pk=par.nueva_id)
            .values_list("numero_smartflex", flat=True)
            .first()
        )
        e = Emparejamiento.objects.select_for_update().filter(pk=emparejamiento_id).first()
        if e is None or anulada is None or numero is None:
            raise transitions.NoEncontrado(f"No existe la re-digitación propuesta {emparejamiento_id}.")
        if e.estado != P.PROPUESTO:
            raise Conflicto(_ya_resuelta(e))
        automatico = SISTEMA in roles_de(usuario)
        motivos = "; ".join(e.motivos)
        transitions.aplicar(
            anulada,
            "vincular_redigitacion",
            usuario,
            numero_nueva=numero,
            nota=nota
            or (f"Vinculada automáticamente: {motivos}." if automatico else f"Re-digitación propuesta: {motivos}."),
            version=version,
            refrescar=False,
        )
        e.refresh_from_db()  # vinculado by the transition, with who and when
        if automatico:
            Emparejamiento.objects.filter(pk=e.pk).update(automatico=True)
            e.automatico = True
    return e


def descartar(emparejamiento_id: int, usuario: User, *, motivo: str = "") -> Emparejamiento:
    """The new Solicitud is not the re-digitation: the proposal is ``descartado`` and never
    proposed again. Gestión de Red, the COC and the digitation roles (within their scope on the
    cancelled Solicitud). ``motivo``, when given, is kept after the reasons («Descartada: …»)."""
    _propuesta(emparejamiento_id)
    with transaction.atomic():
        e = Emparejamiento.objects.select_for_update().get(pk=emparejamiento_id)
        anulada = Solicitud.objects.get(pk=e.anulada_id)
        if PERMISO.rol_para(anulada, usuario) is None:
            raise SinPermiso(f"Su rol no permite descartar la re-digitación propuesta de {anulada}.")
        if e.estado != P.PROPUESTO:
            raise Conflicto(_ya_resuelta(e))
        e.estado = P.DESCARTADO
        e.resuelto_por = usuario
        e.resuelto_at = timezone.now()
        motivo = (motivo or "").strip()
        if motivo:
            e.motivos = [*e.motivos, f"Descartada: {motivo[:500]}"]
        e.save(update_fields=["estado", "resuelto_por", "resuelto_at", "motivos"])
    return e


# --- what the page reads --------------------------------------------------------------------------
def propuestas(usuario: User | None = None) -> QuerySet[Emparejamiento]:
    """The open proposals, best first, with both Solicitudes (and their zones) joined; scoped to
    what ``usuario`` sees of the cancelled Solicitud when given."""
    qs = Emparejamiento.objects.filter(estado=P.PROPUESTO).select_related(
        "anulada", "nueva", "anulada__zona", "nueva__zona"
    )
    if usuario is not None:
        qs = qs.filter(anulada__in=Solicitud.objects.visibles_para(usuario))
    return qs.order_by("-confianza", "-creado_at", "-pk")


def cifras(desde: datetime | None = None, hasta: datetime | None = None) -> dict[str, Any]:
    """Re-entries linked in [desde, hasta) (either bound None: open): how many, how many
    automatically, and their share (%, one decimal; None when none was linked). One query; the
    reconciliation's figures (``diferencias.cifras``) take theirs from here."""
    vinculadas = Emparejamiento.objects.filter(estado=P.VINCULADO, resuelto_at__isnull=False)
    if desde is not None:
        vinculadas = vinculadas.filter(resuelto_at__gte=desde)
    if hasta is not None:
        vinculadas = vinculadas.filter(resuelto_at__lt=hasta)
    f = vinculadas.aggregate(vinculadas=Count("pk"), automaticas=Count("pk", filter=Q(automatico=True)))
    f["porcentaje_automaticas"] = round(f["automaticas"] * 100 / f["vinculadas"], 1) if f["vinculadas"] else None
    return f


__all__ = [
    "ALTA",
    "ETIQUETA",
    "PESOS",
    "cifras",
    "claves",
    "confianza_alta",
    "descartar",
    "emparejar",
    "etiqueta",
    "evaluar",
    "nivel",
    "propuestas",
    "vincular",
    "vincular_automaticas",
]
