"""Resolving the differences with Smartflex (issue 18): the decisions a person takes on a
``Diferencia`` (``resolver``, ``resolver_en_bloque``), the ones a setting marks as safe to take
without a person (``aplicar_automaticas``), the reconciliation's figures (``cifras``) and the rows
that carry its decisions back to Smartflex (``filas_exportacion``, read by
``importacion.exportacion``).

The actions per class of difference (``ACCIONES``):

- ``registrar_anulacion`` (anulada en Smartflex, vigente en la aplicación): the cancellation that
  happened in Smartflex is recorded through the transition path — ``anular`` on the Solicitud,
  which takes its OT with it, dated with the real Smartflex date (``aplicar(ocurrido_at=…)``: the
  audit row, ``anulada_at`` and the case's ``probable_at`` take it) and noted as imported. The
  transition's own refusals (e.g. an OT the técnico reported, still with the COZ) are the answer:
  the difference stays open.
- ``crear_caso`` (anulada en Smartflex, sin caso): the cancellation exists only in Smartflex. The
  Solicitud is born as the Smartflex import births them (``transitions.crear_en_bloque``, dated
  with the Smartflex date) and cancelled as above, so the indicator counts the case as probable
  and anulado in the period of the Smartflex date.
- ``error_smartflex`` (every class): the person says the Smartflex side is wrong. Nothing changes
  in the application; a note says why, and the export to Smartflex carries it (round trip).

Who: Gestión de Red and the COC. A difference is locked (``select_for_update``) in the same
transaction as the transition it takes, so two people resolving it at once get one decision and
one audit row; the second is told who resolved it and when (Conflicto).

Automatic applications (``ANULACIONES_SMARTFLEX_AUTOMATICO``; empty by default: every difference
waits for a person). They are taken by the system user, audited as such (role SISTEMA), because
no person decided them: the setting did. The Solicitud's ``anular`` names only Gestión de Red and
the COC, and that permission is not widened (a widened one would let the system user cancel
through every path). Instead this module, and only for these two actions, takes the transition
through ``transitions.Contexto.aplicar`` — the path's own way of applying a transition that is the
consequence of something already decided (here, the feed plus the setting): it locks the row,
runs the body, saves and writes the audit row and the effects exactly as ``aplicar`` does, but
asks no role. What it also skips — the transition's conditions — is checked first, on the locked
row, with the same messages a person gets (``transitions.siguientes_pasos``), so the system never
does what a person would be refused (an OT with the técnico stays open, its reason in the
difference's note). A person passed as ``usuario`` takes the ordinary path with their own role.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Case, Count, Exists, Max, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from . import emparejamiento, transitions
from .errors import Conflicto, DatosInvalidos, ErrorDominio, SinPermiso, TransicionNoPermitida
from .models import Diferencia, Emparejamiento, EstadoSmartflex, ImportacionSmartflex, OrdenDeTrabajo, Solicitud, Zona
from .roles import SISTEMA, Rol, roles_de
from .transitions.camino import _en_transaccion

if TYPE_CHECKING:
    from django.contrib.auth.models import User

T = TypeVar("T")
C = Diferencia.Clase
D = Diferencia.Estado

REGISTRAR_ANULACION = "registrar_anulacion"
CREAR_CASO = "crear_caso"
ERROR_SMARTFLEX = "error_smartflex"

# The actions that resolve each class of difference (the buttons, in this order).
ACCIONES: dict[str, tuple[str, ...]] = {
    C.ANULADA_EN_SMARTFLEX: (REGISTRAR_ANULACION, ERROR_SMARTFLEX),
    C.SIN_CASO: (CREAR_CASO, ERROR_SMARTFLEX),
    # Smartflex must cancel it too: the decision goes into the export to Smartflex.
    C.ANULADA_EN_APLICACION: (ERROR_SMARTFLEX,),
    # The application's own path (the técnico executing the OT) resolves it; the import removes
    # the open difference once both systems agree.
    C.EJECUTADA_EN_SMARTFLEX: (ERROR_SMARTFLEX,),
}
ETIQUETAS_ACCION: dict[str, str] = {
    REGISTRAR_ANULACION: "Registrar la anulación de Smartflex",
    CREAR_CASO: "Crear el caso anulado",
    ERROR_SMARTFLEX: "Marcar como error de Smartflex",
}
# The state each action leaves the difference in.
RESULTADO: dict[str, str] = {
    REGISTRAR_ANULACION: D.ANULACION_REGISTRADA,
    CREAR_CASO: D.CASO_CREADO,
    ERROR_SMARTFLEX: D.ERROR_SMARTFLEX,
}
# ANULACIONES_SMARTFLEX_AUTOMATICO: the classes that may be applied without a person, and how.
AUTOMATICAS: dict[str, str] = {C.ANULADA_EN_SMARTFLEX: REGISTRAR_ANULACION, C.SIN_CASO: CREAR_CASO}

ROLES = (Rol.GESTION_RED, Rol.COC)
SIN_NOMBRE = "(sin nombre en Smartflex)"
SIN_DIRECCION = "(sin dirección en Smartflex)"
MOTIVO_SMARTFLEX = "Anulada en Smartflex"
JUSTIFICACION = "Anulación hecha en Smartflex (conciliación)."
# The application's states in which a cancellation in Smartflex is no difference: the Solicitud
# was already cancelled here (for re-digitation, or finally).
YA_ANULADA = (Solicitud.E.ANULADA, Solicitud.E.PENDIENTE_REDIGITACION, Solicitud.E.REDIGITADA)

# Export back to Smartflex (``importacion.COLUMNAS_EXPORTACION``): the action that asks Smartflex
# to correct its side, and the values of the column ``origen``.
CORREGIR_EN_SMARTFLEX = "CORREGIR_EN_SMARTFLEX"
ORIGEN_APLICACION = "aplicacion"
ORIGEN_CONCILIACION = "conciliacion"


def _nombre(usuario: Any) -> str:
    return (usuario.get_full_name() or usuario.username) if usuario is not None else ""


def _local(instante: datetime) -> str:
    return f"{timezone.localtime(instante):%d/%m/%Y %H:%M}"


def motivo_de(error: ErrorDominio) -> str:
    """The Spanish reason of a refusal, in one line (a DatosInvalidos says it per field)."""
    if isinstance(error, DatosInvalidos) and error.errores:
        return " ".join(str(m) for m in error.errores.values())
    return error.mensaje


def _rol(usuario: User, *, sistema: bool) -> str:
    """The role the user resolves with; ``sistema``: the system user too (automatic applications)."""
    mios = roles_de(usuario)
    if sistema and SISTEMA in mios:
        return SISTEMA
    rol = next((r for r in ROLES if r in mios), None)
    if rol is None:
        raise SinPermiso("Solo Gestión de Red y el COC resuelven las diferencias con Smartflex.")
    return rol


# --- detection: the feed's latest status against the application ----------------------------------
# (The feed import, ``conciliacion``, stores the rows and calls ``detectar_fuentes`` per batch; a
# resolution re-detects the other rows of its Solicitud; the beat re-checks the open ones.)
Clave = tuple[str, str]  # (objeto, numero)
_E = EstadoSmartflex.Estado
_O = EstadoSmartflex.Objeto


def _lotes(valores: Iterable[T], n: int) -> Iterator[list[T]]:
    lote: list[T] = []
    for v in valores:
        lote.append(v)
        if len(lote) >= n:
            yield lote
            lote = []
    if lote:
        yield lote


@dataclass(frozen=True)
class _Aplicacion:
    """What the application knows of a number: its Solicitud and that Solicitud's and OT's states."""

    solicitud_id: int
    estado_solicitud: str
    estado_ot: str | None


def coincidencias(claves: Iterable[Clave]) -> dict[Clave, _Aplicacion]:
    """The application's Solicitud of each (objeto, numero): two queries, whatever the count."""
    por_objeto: dict[str, list[str]] = {_O.SOLICITUD: [], _O.OT: []}
    for objeto, numero in claves:
        por_objeto[objeto].append(numero)
    encontradas: dict[Clave, _Aplicacion] = {}
    if por_objeto[_O.SOLICITUD]:
        for numero, pk, estado, estado_ot in Solicitud.objects.filter(
            numero_smartflex__in=por_objeto[_O.SOLICITUD]
        ).values_list("numero_smartflex", "pk", "estado", "orden__estado"):
            encontradas[(_O.SOLICITUD, numero)] = _Aplicacion(pk, estado, estado_ot)
    if por_objeto[_O.OT]:
        for numero, pk, estado, estado_ot in OrdenDeTrabajo.objects.filter(numero__in=por_objeto[_O.OT]).values_list(
            "numero", "solicitud_id", "solicitud__estado", "estado"
        ):
            encontradas[(_O.OT, numero)] = _Aplicacion(pk, estado, estado_ot)
    return encontradas


_S = Solicitud.Estado
_OT = OrdenDeTrabajo.Estado
_C = Diferencia.Clase
# Cancelled by the application, but saved or waiting to be saved by a re-digitation (19.2).
_REDIGITACION = (_S.PENDIENTE_REDIGITACION, _S.REDIGITADA)


def clasificar(estado: str, app: _Aplicacion | None, objeto: str = _O.SOLICITUD) -> str | None:
    """The class of difference between a Smartflex status and the application's (None: they agree).
    A cancelled number the application does not know is a case to create only for a Solicitud's
    row: an unknown OT's row says nothing of its Solicitud's number (the feed's row of that
    Solicitud, when there is one, opens it), so it would make a second case of one cancellation."""
    if app is None:
        return _C.SIN_CASO if estado == _E.ANULADA and objeto == _O.SOLICITUD else None
    anulada = app.estado_solicitud == _S.ANULADA or app.estado_ot == _OT.ANULADA
    en_redigitacion = app.estado_solicitud in _REDIGITACION
    if estado == _E.ANULADA:
        return None if anulada or en_redigitacion else _C.ANULADA_EN_SMARTFLEX
    if anulada and not en_redigitacion:
        return _C.ANULADA_EN_APLICACION
    instalada = app.estado_solicitud == _S.INSTALADA or app.estado_ot == _OT.EJECUTADA
    if estado == _E.EJECUTADA and not (instalada or anulada or en_redigitacion):
        return _C.EJECUTADA_EN_SMARTFLEX
    return None


@dataclass(frozen=True)
class _Fuente:
    pk: int
    objeto: str
    numero: str
    estado: str
    solicitud_id: int | None
    actualizado_at: datetime


_CAMPOS_FUENTE = ("pk", "objeto", "numero", "estado", "solicitud_id", "actualizado_at")


def _vincular_fuentes(vinculos: list[EstadoSmartflex]) -> None:
    """Set the matched Solicitud of many feed rows: on PostgreSQL one UPDATE joined with two
    arrays (linear), elsewhere ``bulk_update`` (a CASE branch per row)."""
    if connection.vendor != "postgresql":
        EstadoSmartflex.objects.bulk_update(vinculos, ["solicitud"])
        return
    tabla = connection.ops.quote_name(EstadoSmartflex._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {tabla} AS e SET solicitud_id = v.solicitud_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, solicitud_id) WHERE e.id = v.id",
            [[v.pk for v in vinculos], [v.solicitud_id for v in vinculos]],
        )


def detectar_fuentes(fuentes: list[_Fuente], app: Mapping[Clave, _Aplicacion] | None = None) -> tuple[int, int]:
    """Match and compare one batch of stored rows; a constant number of queries. Returns
    (differences opened, open differences removed)."""
    if not fuentes:
        return 0, 0
    if app is None:
        app = coincidencias((f.objeto, f.numero) for f in fuentes)
    vinculos = []
    for f in fuentes:
        a = app.get((f.objeto, f.numero))
        solicitud_id = a.solicitud_id if a else None
        if solicitud_id != f.solicitud_id:
            vinculos.append(EstadoSmartflex(pk=f.pk, solicitud_id=solicitud_id))
    if vinculos:
        _vincular_fuentes(vinculos)

    abiertas: dict[int, Diferencia] = {}
    resueltas: dict[tuple[int, str], list[datetime | None]] = {}
    for d in Diferencia.objects.filter(fuente_id__in=[f.pk for f in fuentes]).only(
        "pk", "fuente_id", "clase", "estado", "solicitud_id", "estado_aplicacion", "resuelta_at"
    ):
        if d.estado == Diferencia.Estado.ABIERTA:
            abiertas[d.fuente_id] = d
        else:
            resueltas.setdefault((d.fuente_id, d.clase), []).append(d.resuelta_at)

    nuevas: list[Diferencia] = []
    cambiadas: list[Diferencia] = []
    quitar: list[int] = []
    for f in fuentes:
        a = app.get((f.objeto, f.numero))
        clase_ = clasificar(f.estado, a, f.objeto)
        abierta = abiertas.get(f.pk)
        if clase_ is None:
            if abierta is not None:
                quitar.append(abierta.pk)
            continue
        estado_app = "" if a is None else (a.estado_ot or "") if f.objeto == _O.OT else a.estado_solicitud
        solicitud_id = a.solicitud_id if a else None
        if abierta is not None:
            if (abierta.clase, abierta.solicitud_id, abierta.estado_aplicacion) != (clase_, solicitud_id, estado_app):
                abierta.clase, abierta.solicitud_id, abierta.estado_aplicacion = clase_, solicitud_id, estado_app
                cambiadas.append(abierta)
            continue
        # A person decided on this very difference after Smartflex last changed this number: the
        # same data imported again does not reopen it.
        if any(r is None or r >= f.actualizado_at for r in resueltas.get((f.pk, clase_), [])):
            continue
        nuevas.append(Diferencia(fuente_id=f.pk, clase=clase_, solicitud_id=solicitud_id, estado_aplicacion=estado_app))
    if nuevas:
        # A concurrent import may have opened the same one: the partial unique constraint keeps one.
        Diferencia.objects.bulk_create(nuevas, ignore_conflicts=True)
    for d in cambiadas:  # rare (the class moved); only while still open: a person may have just resolved it
        Diferencia.objects.filter(pk=d.pk, estado=D.ABIERTA).update(
            clase=d.clase, solicitud_id=d.solicitud_id, estado_aplicacion=d.estado_aplicacion
        )
    quitadas = Diferencia.objects.filter(pk__in=quitar, estado=Diferencia.Estado.ABIERTA).delete()[0] if quitar else 0
    return len(nuevas), quitadas


def fuentes(qs: Any) -> list[_Fuente]:
    return [_Fuente(*fila) for fila in qs.order_by().values_list(*_CAMPOS_FUENTE)]


def detectar(fuente_ids: Iterable[int]) -> tuple[int, int]:
    """Match the stored rows ``fuente_ids`` (EstadoSmartflex pks) to the application again and
    bring their open differences up to date, in batches of ``ANULACIONES_IMPORTACION_LOTE``
    (constant queries per batch; each batch in its own transaction). Callable any time the
    application's side changed (e.g. after a Solicitud import). Returns (opened, removed)."""
    abiertas = quitadas = 0
    for ids in _lotes(fuente_ids, settings.ANULACIONES_IMPORTACION_LOTE):
        with transaction.atomic():
            a, q = detectar_fuentes(fuentes(EstadoSmartflex.objects.filter(pk__in=ids)))
        abiertas, quitadas = abiertas + a, quitadas + q
    return abiertas, quitadas


def revisar_abiertas() -> tuple[int, int]:
    """Bring every open difference up to date with the application as it is now (the beat
    ``revisar_diferencias``): one the application caught up with (a cancellation made through its
    own path, an OT executed) is removed. Returns (opened, removed)."""
    return detectar(Diferencia.objects.filter(estado=D.ABIERTA).values_list("fuente_id", flat=True))


# --- resolving ------------------------------------------------------------------------------------
def resolver(
    diferencia_id: int,
    accion: str,
    usuario: User,
    *,
    nota: str = "",
    zona_id: int | None = None,
    asesor_id: int | None = None,
) -> Diferencia:
    """Take ``accion`` (``ACCIONES``) on an open difference, as ``usuario`` (GESTION_RED or COC).

    ``nota``: required for ``error_smartflex`` (why Smartflex is wrong), kept for every action.
    ``zona_id``, ``asesor_id``: for ``crear_caso``, the zone and asesor the person picks; when not
    given, those Smartflex reported (an active zone code, an active ASESOR username); neither →
    DatosInvalidos. Raises SinPermiso, NoEncontrado, Conflicto (no longer open: who resolved it and
    when), DatosInvalidos (action not for this class, missing data) and the transition's own
    refusals (TransicionNoPermitida, with its Spanish message); on any of them nothing changed.
    Returns the resolved difference."""
    return _resolver(diferencia_id, accion, usuario, nota=nota, zona_id=zona_id, asesor_id=asesor_id)


def _resolver(
    diferencia_id: int,
    accion: str,
    usuario: User,
    *,
    nota: str = "",
    zona_id: int | None = None,
    asesor_id: int | None = None,
    automatica: bool = False,
) -> Diferencia:
    rol = _rol(usuario, sistema=automatica)
    if accion not in ETIQUETAS_ACCION:
        raise DatosInvalidos({"accion": f"Acción «{accion}» desconocida."})
    nota = (nota or "").strip()

    def cuerpo() -> Diferencia:
        # Lock order: the stored statuses of the Solicitud (pk order), then the difference, then
        # the Solicitud (the transition). A feed's import locks the statuses first too (its upsert)
        # and then their differences, so the two queue instead of crossing.
        previa = Diferencia.objects.filter(pk=diferencia_id).values_list("fuente_id", "solicitud_id").first()
        if previa is not None:
            mias = Q(pk=previa[0]) | Q(solicitud_id=previa[1]) if previa[1] else Q(pk=previa[0])
            list(EstadoSmartflex.objects.select_for_update().filter(mias).order_by("pk").values_list("pk", flat=True))
        try:
            dif = Diferencia.objects.select_for_update(of=("self",)).select_related("fuente").get(pk=diferencia_id)
        except Diferencia.DoesNotExist:
            raise transitions.NoEncontrado(
                f"No existe la diferencia {diferencia_id}: una importación posterior la quita cuando Smartflex "
                "y la aplicación vuelven a coincidir."
            ) from None
        if dif.estado != D.ABIERTA:
            raise Conflicto(
                f"La diferencia de {dif.fuente.get_objeto_display()} {dif.fuente.numero} ya fue resuelta"
                f"{' por ' + _nombre(dif.resuelta_por) if dif.resuelta_por_id else ''}"
                f"{' el ' + _local(dif.resuelta_at) if dif.resuelta_at else ''}: «{dif.get_estado_display()}»."
            )
        if accion not in ACCIONES.get(dif.clase, ()):
            permitidas = ", ".join(f"«{ETIQUETAS_ACCION[a]}»" for a in ACCIONES.get(dif.clase, ()))
            raise DatosInvalidos(
                {
                    "accion": f"«{ETIQUETAS_ACCION[accion]}» no resuelve una diferencia «{dif.get_clase_display()}»"
                    f"{': ' + permitidas if permitidas else ''}."
                }
            )
        if accion == ERROR_SMARTFLEX and not nota:
            raise DatosInvalidos({"nota": "Explique por qué el dato de Smartflex es el equivocado."})
        if accion == REGISTRAR_ANULACION:
            _registrar_anulacion(dif, usuario, rol, nota)
        elif accion == CREAR_CASO:
            _crear_caso(dif, usuario, rol, nota, zona_id=zona_id, asesor_id=asesor_id)
        dif.estado = RESULTADO[accion]
        dif.resuelta_at = timezone.now()
        dif.resuelta_por = usuario
        dif.nota = nota
        dif.automatica = automatica
        dif.save(update_fields=["estado", "resuelta_at", "resuelta_por", "nota", "automatica", "solicitud"])
        if dif.solicitud_id and accion != ERROR_SMARTFLEX:
            _redetectar_hermanas(dif, dif.solicitud_id)
        return dif

    return _en_transaccion(cuerpo)


def _redetectar_hermanas(dif: Diferencia, solicitud_id: int) -> None:
    """The application changed: the other feed rows of the same Solicitud (its OT's row, when the
    Solicitud's was resolved, and the other way round) are compared again at once, so a difference
    that stopped holding leaves the list now, not at the next import."""
    numeros = Q(solicitud_id=solicitud_id)
    for numero_sf, numero_ot in Solicitud.objects.filter(pk=solicitud_id).values_list(
        "numero_smartflex", "orden__numero"
    )[:1]:
        numeros |= Q(objeto=_O.SOLICITUD, numero=numero_sf) | Q(objeto=_O.OT, numero=numero_ot or "")
    detectar_fuentes(fuentes(EstadoSmartflex.objects.filter(numeros).exclude(pk=dif.fuente_id)))


def resolver_en_bloque(
    ids: list[int], accion: str, usuario: User, *, nota: str = ""
) -> tuple[list[int], dict[int, str]]:
    """``resolver`` for each id, each in its own transaction (one refusal undoes none of the
    others). Returns (resolved ids, {id: Spanish reason} of the refused ones). SinPermiso for the
    whole list when the user may resolve none. ``crear_caso`` here takes the zone and asesor
    Smartflex reported (a case that needs them picked is refused with the reason)."""
    _rol(usuario, sistema=False)
    hechas: list[int] = []
    rechazadas: dict[int, str] = {}
    for pk in dict.fromkeys(ids):
        try:
            resolver(pk, accion, usuario, nota=nota)
        except ErrorDominio as e:
            rechazadas[pk] = motivo_de(e)
        else:
            hechas.append(pk)
    return hechas, rechazadas


def aplicar_automaticas(usuario: User | None = None) -> int:
    """Apply the open differences whose class ``ANULACIONES_SMARTFLEX_AUTOMATICO`` names
    (``anulada_en_smartflex`` → registrar_anulacion, ``sin_caso`` → crear_caso), marked
    ``automatica``; by default as the system user (module docstring). One transaction each; a
    difference it cannot apply stays open, its reason in ``nota``. Returns how many it applied."""
    clases = [c for c in dict.fromkeys(settings.ANULACIONES_SMARTFLEX_AUTOMATICO) if c in AUTOMATICAS]
    if not clases:
        return 0
    usuario = usuario or transitions.usuario_sistema()
    _rol(usuario, sistema=True)
    aplicadas = 0
    pendientes = Diferencia.objects.filter(estado=D.ABIERTA, clase__in=clases).order_by("pk")
    for pk, clase in list(pendientes.values_list("pk", "clase")):
        try:
            _resolver(pk, AUTOMATICAS[clase], usuario, automatica=True)
        except Conflicto as e:
            if not Diferencia.objects.filter(pk=pk, estado=D.ABIERTA).exists():
                continue  # resolved by someone else meanwhile
            _anotar(pk, motivo_de(e))
        except ErrorDominio as e:
            _anotar(pk, motivo_de(e))
        else:
            aplicadas += 1
    return aplicadas


def _anotar(pk: int, motivo: str) -> None:
    Diferencia.objects.filter(pk=pk, estado=D.ABIERTA).update(nota=f"No se aplicó automáticamente: {motivo}")


# --- the two actions that change the application ---------------------------------------------------
def _nota_importada(fuente: EstadoSmartflex, rol: str, nota: str) -> str:
    quien = f" por {fuente.usuario}" if fuente.usuario else ""
    por = "conciliación automática" if rol == SISTEMA else "conciliación"
    texto = f"Importada de Smartflex: anulada el {_local(fuente.fecha)}{quien}; registrada por {por}."
    return f"{texto} Nota: {nota}" if nota else texto


def _anular(solicitud: Solicitud, usuario: User, rol: str, fuente: EstadoSmartflex, nota: str) -> None:
    """``anular`` dated with the Smartflex date. A person through ``aplicar`` (role, scope, state,
    conditions); the system through ``Contexto.aplicar`` after the same state and conditions are
    checked on the locked row (module docstring)."""
    motivo = fuente.motivo.strip() or MOTIVO_SMARTFLEX
    texto = _nota_importada(fuente, rol, nota)
    if rol != SISTEMA:
        transitions.aplicar(
            solicitud,
            "anular",
            usuario,
            nota=texto,
            ocurrido_at=fuente.fecha,
            refrescar=False,
            motivo=motivo,
            justificacion=JUSTIFICACION,
        )
        return
    actual = Solicitud.objects.select_for_update().get(pk=solicitud.pk)
    paso = next((p for p in transitions.siguientes_pasos(actual) if p["nombre"] == "anular"), None)
    if paso is None:
        raise TransicionNoPermitida(f"No se puede «Anular»: {actual} está «{actual.get_estado_display()}».")
    if not paso["disponible"]:
        raise TransicionNoPermitida(paso["motivo"])
    ctx = transitions.Contexto(usuario=usuario, rol=SISTEMA, ahora=min(fuente.fecha, timezone.now()))
    if (
        ctx.aplicar(actual, "anular", nota=texto, motivo=motivo, justificacion=JUSTIFICACION) is None
    ):  # checked above: cannot happen
        raise TransicionNoPermitida(f"No se puede «Anular»: {actual} está «{actual.get_estado_display()}».")


def _registrar_anulacion(dif: Diferencia, usuario: User, rol: str, nota: str) -> None:
    """The Solicitud of the number (an OT's: its Solicitud, whose ``anular`` takes the OT along)."""
    fuente = dif.fuente
    pk = dif.solicitud_id or fuente.solicitud_id
    if pk is None:
        raise TransicionNoPermitida(
            f"{fuente.get_objeto_display()} {fuente.numero} no tiene solicitud en la aplicación: use «Crear el caso»."
        )
    solicitud = Solicitud.objects.get(pk=pk)
    if solicitud.estado in YA_ANULADA:
        raise TransicionNoPermitida(
            f"{solicitud} ya está «{solicitud.get_estado_display()}» en la aplicación: coincide con Smartflex, "
            "y la próxima importación de estados quita esta diferencia."
        )
    _anular(solicitud, usuario, rol, fuente, nota)
    dif.solicitud_id = solicitud.pk


def _crear_caso(
    dif: Diferencia, usuario: User, rol: str, nota: str, *, zona_id: int | None, asesor_id: int | None
) -> None:
    """Born as the Smartflex import births Solicitudes (one row), then cancelled with the Smartflex
    date; the feed's row and the difference point to it."""
    fuente = dif.fuente
    if fuente.solicitud_id is not None:
        raise TransicionNoPermitida(
            f"{fuente.get_objeto_display()} {fuente.numero} ya tiene su solicitud en la aplicación: "
            "la próxima importación de estados revisa esta diferencia."
        )
    es_ot = fuente.objeto == EstadoSmartflex.Objeto.OT
    # An OT known alone: its Solicitud takes the OT's number with a prefix (Smartflex did not send
    # the Solicitud's), so that no real Solicitud number is ever taken by it.
    numero = f"OT {fuente.numero}"[:30] if es_ot else fuente.numero
    if Solicitud.objects.filter(numero_smartflex=numero).exists():
        raise TransicionNoPermitida(
            f"Ya existe la solicitud N° {numero} en la aplicación: la próxima importación de estados la empareja."
        )
    errores: dict[str, str] = {}
    zona = _zona(fuente, zona_id, errores)
    asesor = _asesor(fuente, asesor_id, errores)
    if errores:
        raise DatosInvalidos(errores)
    fecha = min(fuente.fecha, timezone.now())
    fila: dict[str, Any] = {
        "numero_smartflex": numero,
        "tipo": Solicitud.Tipo.INSTALACION,
        "cliente_nombre": _recortar(fuente.cliente_nombre, "cliente_nombre") or SIN_NOMBRE,
        "cliente_documento": _recortar(fuente.cliente_documento, "cliente_documento"),
        "cliente_telefono": _recortar(fuente.cliente_telefono, "cliente_telefono"),
        "calle": _recortar(fuente.direccion, "calle") or SIN_DIRECCION,
        "zona_id": zona,
        "asesor_id": asesor,
        "creado_at": fecha,
    }
    # Its OT: the OT's own number, else the usual OT-<N°> — or the Solicitud's number when that
    # would not fit the OT's 30 characters (a 28-character Smartflex number).
    numero_ot = fuente.numero if es_ot else f"OT-{numero}"
    if len(numero_ot) > (OrdenDeTrabajo._meta.get_field("numero").max_length or 30):
        numero_ot = numero
    if OrdenDeTrabajo.objects.filter(numero=numero_ot).exists():
        raise TransicionNoPermitida(
            f"Ya existe la OT N° {numero_ot} en la aplicación, de otra solicitud: corrija el número en Smartflex o "
            "márquela como error de Smartflex."
        )
    fila["numero_ot"] = numero_ot
    try:
        (nueva,) = transitions.crear_en_bloque(
            usuario,
            [fila],
            nota=f"Creada por conciliación: anulación de Smartflex ({fuente.get_objeto_display()} {fuente.numero}) "
            "sin caso en la aplicación.",
        )
    except IntegrityError as e:  # the same number registered meanwhile (its savepoint is rolled back)
        raise Conflicto(
            f"La solicitud N° {numero} se registró en la aplicación mientras tanto: la próxima importación "
            "de estados la empareja."
        ) from e
    _anular(nueva, usuario, rol, fuente, nota)
    EstadoSmartflex.objects.filter(pk=fuente.pk).update(solicitud=nueva)
    fuente.solicitud = nueva
    dif.solicitud = nueva


def _recortar(valor: str, campo: str) -> str:
    """The feed's text within the Solicitud field's length (``crear_en_bloque`` runs no full_clean)."""
    largo = getattr(Solicitud._meta.get_field(campo), "max_length", None)
    valor = (valor or "").strip()
    return valor[:largo] if largo else valor


def _zona(fuente: EstadoSmartflex, zona_id: int | None, errores: dict[str, str]) -> int | None:
    """The zone the person picked, else the active zone of the code Smartflex reported."""
    if zona_id is not None:
        if Zona.objects.filter(pk=zona_id, activa=True).exists():
            return zona_id
        errores["zona"] = "Elija una zona activa."
        return None
    codigo = fuente.zona.strip()
    pk = Zona.objects.filter(codigo=codigo, activa=True).values_list("pk", flat=True).first() if codigo else None
    if pk is None:
        dice = f"Smartflex indica «{codigo}», que no es una zona activa" if codigo else "Smartflex no indica la zona"
        errores["zona"] = f"Elija la zona de la solicitud: {dice}."
    return pk


def _asesor(fuente: EstadoSmartflex, asesor_id: int | None, errores: dict[str, str]) -> int | None:
    """The asesor the person picked, else the active ASESOR of the username Smartflex reported. The
    person resolving is never taken as the asesor (Gestión de Red and the COC register no case)."""
    asesores = get_user_model().objects.filter(groups__name=Rol.ASESOR, is_active=True)
    if asesor_id is not None:
        if asesores.filter(pk=asesor_id).exists():
            return asesor_id
        errores["asesor"] = "Elija un asesor activo."
        return None
    nombre = fuente.asesor.strip()
    pk = asesores.filter(username=nombre).values_list("pk", flat=True).first() if nombre else None
    if pk is None:
        dice = f"Smartflex indica «{nombre}», que no es un asesor activo" if nombre else "Smartflex no indica el asesor"
        errores["asesor"] = f"Elija el asesor de la solicitud: {dice}."
    return pk


# --- figures --------------------------------------------------------------------------------------
class PeriodoLike(Protocol):
    """``reports.indicador.Periodo`` (not imported: the reports may show these figures)."""

    @property
    def inicio(self) -> datetime: ...

    @property
    def fin(self) -> datetime: ...


@dataclass(frozen=True)
class UltimaImportacion:
    pk: int
    nombre: str
    terminado_at: datetime | None


@dataclass(frozen=True)
class Cifras:
    """The reconciliation's figures (issue 18.4). ``faltantes``: cancellations Smartflex knows and
    the application does not (open differences of ``Diferencia.FALTANTES``; target 0).
    ``detectadas``/``resueltas``/``resueltas_automaticas``/``vinculadas*``: in the period (all time
    without one). ``ultima_importacion`` and ``estados_hasta``: as of which feed."""

    faltantes: int
    abiertas: int
    abiertas_por_clase: dict[str, int]
    detectadas: int
    resueltas: int
    resueltas_automaticas: int
    vinculadas: int
    vinculadas_automaticas: int
    porcentaje_automatico: float | None
    ultima_importacion: UltimaImportacion | None
    estados_hasta: datetime | None


def _en(campo: str, periodo: PeriodoLike | None) -> Q:
    if periodo is None:
        return Q(**{f"{campo}__isnull": False})
    return Q(**{f"{campo}__gte": periodo.inicio, f"{campo}__lt": periodo.fin})


def cifras(periodo: PeriodoLike | None = None) -> Cifras:
    """The figures in four aggregate queries, whatever the number of rows."""
    abierta = Q(estado=D.ABIERTA)
    resuelta = ~abierta & _en("resuelta_at", periodo)
    conteos = Diferencia.objects.aggregate(
        faltantes=Count("pk", filter=abierta & Q(clase__in=Diferencia.FALTANTES)),
        abiertas=Count("pk", filter=abierta),
        detectadas=Count("pk", filter=_en("detectada_at", periodo)),
        resueltas=Count("pk", filter=resuelta),
        resueltas_automaticas=Count("pk", filter=resuelta & Q(automatica=True)),
        **{f"clase_{c}": Count("pk", filter=abierta & Q(clase=c)) for c in C.values},
    )
    vinculadas = emparejamiento.cifras(*((periodo.inicio, periodo.fin) if periodo is not None else ()))
    ultima = (
        ImportacionSmartflex.objects.filter(
            clase=ImportacionSmartflex.Clase.ESTADOS, etapa=ImportacionSmartflex.Etapa.TERMINADA
        )
        .order_by("-terminado_at", "-pk")
        .values("pk", "nombre", "terminado_at")
        .first()
    )
    hasta = EstadoSmartflex.objects.aggregate(hasta=Max("fecha"))["hasta"]
    return Cifras(
        faltantes=conteos["faltantes"],
        abiertas=conteos["abiertas"],
        abiertas_por_clase={c: conteos[f"clase_{c}"] for c in C.values},
        detectadas=conteos["detectadas"],
        resueltas=conteos["resueltas"],
        resueltas_automaticas=conteos["resueltas_automaticas"],
        vinculadas=vinculadas["vinculadas"],
        vinculadas_automaticas=vinculadas["automaticas"],
        porcentaje_automatico=vinculadas["porcentaje_automaticas"],
        ultima_importacion=UltimaImportacion(**ultima) if ultima else None,
        estados_hasta=hasta,
    )


# --- the round trip: the export to Smartflex ---------------------------------------------------------
def origen_conciliacion() -> Case:
    """For the export's Solicitud rows (annotate on a Solicitud queryset): True when the
    cancellation was recorded by reconciliation (Smartflex's own, imported) or the re-digitation
    was linked by it (``Emparejamiento`` vinculado) — the row's ``origen`` is then «conciliacion»."""
    return Case(
        When(
            Exists(
                Diferencia.objects.filter(solicitud=OuterRef("pk"), estado__in=[D.ANULACION_REGISTRADA, D.CASO_CREADO])
            ),
            then=Value(True),
        ),
        When(
            Exists(Emparejamiento.objects.filter(anulada=OuterRef("pk"), estado=Emparejamiento.Estado.VINCULADO)),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


def _estado_aplicacion(solicitud: Solicitud | None) -> str:
    if solicitud is None:
        return "sin solicitud ni OT"
    texto = f"solicitud «{solicitud.get_estado_display()}»"
    orden = getattr(solicitud, "orden", None)
    return f"{texto}, OT «{orden.get_estado_display()}»" if orden is not None else texto


def filas_exportacion(
    inicio: datetime, fin: datetime, *, ya_exportadas: QuerySet[Any] | None = None
) -> Iterator[list[str]]:
    """The rows of ``importacion.COLUMNAS_EXPORTACION`` for the differences marked
    ``error_smartflex`` in [inicio, fin): for «anulada en la aplicación», the application's
    cancellation (ANULACION, or REDIGITACION when it was re-digitated) so Smartflex cancels it too;
    for the others, CORREGIR_EN_SMARTFLEX with the application's state in ``motivo``. One query,
    streamed. ``ya_exportadas``: Solicitud pks the export already has a row for in the period
    (no second ANULACION of the same cancellation)."""
    qs = (
        Diferencia.objects.filter(estado=D.ERROR_SMARTFLEX, resuelta_at__gte=inicio, resuelta_at__lt=fin)
        .select_related(
            *(
                f"{camino}__{r}"
                for camino in ("solicitud", "fuente__solicitud")
                for r in ("zona", "asesor", "orden", "reemplazada_por")
            )
        )
        .order_by("resuelta_at", "pk")
    )
    if ya_exportadas is not None:
        misma = Q(solicitud__in=ya_exportadas) | Q(solicitud__isnull=True, fuente__solicitud__in=ya_exportadas)
        qs = qs.exclude(Q(clase=C.ANULADA_EN_APLICACION) & misma)
    anuladas: set[int] = set()  # a Solicitud's and its OT's rows both marked: one ANULACION
    for dif in qs.iterator(chunk_size=2000):
        s_id = dif.solicitud_id or dif.fuente.solicitud_id
        if dif.clase == C.ANULADA_EN_APLICACION and s_id is not None:
            if s_id in anuladas:
                continue
            anuladas.add(s_id)
        yield _fila_exportacion(dif)


def _fila_exportacion(dif: Diferencia) -> list[str]:
    f = dif.fuente
    s = dif.solicitud or f.solicitud  # the difference's Solicitud, else the one the feed's row was matched to
    orden = getattr(s, "orden", None) if s is not None else None
    nuevo = ""
    if dif.clase == C.ANULADA_EN_APLICACION and s is not None and s.estado in YA_ANULADA:
        redigitada = s.estado == Solicitud.E.REDIGITADA
        accion = "REDIGITACION" if redigitada else "ANULACION"
        fecha = s.anulada_at or dif.resuelta_at
        motivo = s.motivo_anulacion
        if redigitada and s.reemplazada_por is not None:
            nuevo = s.reemplazada_por.numero_smartflex
    else:
        accion = CORREGIR_EN_SMARTFLEX
        fecha = dif.resuelta_at
        en_aplicacion = _estado_aplicacion(s)
        motivo = f"En la aplicación: {en_aplicacion}." + (f" Nota: {dif.nota}" if dif.nota else "")
    es_ot = f.objeto == EstadoSmartflex.Objeto.OT
    return [
        s.numero_smartflex if s is not None else ("" if es_ot else f.numero),
        orden.numero if orden is not None else (f.numero if es_ot else ""),
        accion,
        timezone.localtime(fecha).strftime("%Y-%m-%d %H:%M:%S") if fecha else "",
        motivo,
        nuevo,
        s.zona.codigo if s is not None else f.zona,
        s.asesor.username if s is not None else f.asesor,
        ORIGEN_CONCILIACION,
    ]
