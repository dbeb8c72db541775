"""The one audit writer. Every RegistroAuditoria row — a transition or a birth on the single
path, the set-based path, the Smartflex bulk writes — is built here from the context of the
change (who, role, when, step, note) and the object's own ``NOMBRE`` declaration (its text and
case, in Python and in SQL: ``models.auditoria.Nombre``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, overload

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F, Model, QuerySet
from django.db.models.functions import Left

from ..models import RegistroAuditoria
from ..models.auditoria import LARGO_OBJETO, Nombre
from ..signals import transicion_auditada, transicion_realizada, transiciones_en_bloque

if TYPE_CHECKING:
    from ..models.base import Maquina


class ContextoAuditado(Protocol):
    """What an audit row is written from: ``camino.Contexto`` (which imports this module)."""

    usuario: Any
    rol: str
    ahora: datetime
    nota: str
    paso: str
    registros: list[RegistroAuditoria]


def registro(
    obj: Maquina,
    ctx: ContextoAuditado,
    transicion: str,
    origen: str | None,
    destino: str,
    *,
    paso: str | None = None,
    nota: str | None = None,
) -> RegistroAuditoria:
    """The (unsaved) audit row of a change of ``obj`` by ``ctx`` (anything with usuario, rol,
    ahora, paso and nota: a ``Contexto``). ``paso`` and ``nota`` default to the context's."""
    return RegistroAuditoria(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        objeto=str(obj)[:LARGO_OBJETO],
        caso_id=obj.caso_id_auditoria,
        transicion=transicion,
        paso=(ctx.paso if paso is None else paso) or "",
        estado_origen=origen or "",
        estado_destino=destino,
        usuario=ctx.usuario,
        rol=ctx.rol,
        creado_at=ctx.ahora,
        nota=(ctx.nota if nota is None else nota) or "",
    )


def auditar(
    obj: Maquina, ctx: ContextoAuditado, transicion: str, origen: str | None, destino: str, *, paso: str | None = None
) -> RegistroAuditoria:
    """Write the audit row of one change on the single path: the notices go with it (a receiver
    of ``transicion_auditada`` that raises undoes the change), ``transicion_realizada`` after the
    commit."""
    fila = registro(obj, ctx, transicion, origen, destino, paso=paso)
    fila.save()
    ctx.registros.append(fila)
    transicion_auditada.send(sender=type(obj), registro=fila, objeto=obj)
    transaction.on_commit(partial(transicion_realizada.send, sender=type(obj), registro=fila, objeto=obj))
    return fila


def auditar_filas(
    modelo: type[Model], registros: list[RegistroAuditoria], *, avisar: bool = True
) -> list[RegistroAuditoria]:
    """Write audit rows built by ``registro`` in one INSERT. ``avisar``: after the commit,
    ``transiciones_en_bloque`` once (sender=model, registros, pks) instead of a signal per row."""
    registros = RegistroAuditoria.objects.bulk_create(registros)
    if avisar:
        _avisar_bloque(modelo, registros, [r.object_id for r in registros])
    return registros


def en_sql(modelo: type[Model]) -> bool:
    """Whether the audit rows of ``modelo`` can be written from its rows without loading them."""
    return isinstance(getattr(modelo, "NOMBRE", None), Nombre) and connection.features.can_return_rows_from_bulk_insert


def auditar_en_sql(bloqueo: QuerySet[Any], ctx: ContextoAuditado, transicion: str, destino: str) -> list[int]:
    """One INSERT … SELECT of the audit rows of the rows ``bloqueo`` locks (FOR UPDATE SKIP
    LOCKED, in its order), ``estado`` read as the origin before the caller's UPDATE; the object's
    text and case come from its ``NOMBRE`` in SQL. Returns the object pks; after the commit,
    ``transiciones_en_bloque`` once, its rows read when a receiver first looks at them."""
    nombre = bloqueo.model.NOMBRE
    # Annotation names are always the column aliases of the SELECT (plain field names may not be).
    sql, params = (
        bloqueo.annotate(
            objeto_auditoria=Left(nombre.expresion(), LARGO_OBJETO),
            caso_auditoria=nombre.caso_sql(),
            pk_auditoria=F("pk"),
            estado_auditoria=F("estado"),
        )
        .values_list("pk_auditoria", "objeto_auditoria", "caso_auditoria", "estado_auditoria")
        .query.sql_with_params()
    )
    q = connection.ops.quote_name
    creado = RegistroAuditoria._meta.get_field("creado_at").get_db_prep_value(ctx.ahora, connection)
    ct = ContentType.objects.get_for_model(bloqueo.model)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(RegistroAuditoria._meta.db_table)} (content_type_id, object_id, objeto, caso_id, "
            "transicion, paso, estado_origen, estado_destino, usuario_id, rol, creado_at, nota) "
            "SELECT %s, x.pk_auditoria, x.objeto_auditoria, x.caso_auditoria, %s, %s, x.estado_auditoria, "
            f"%s, %s, %s, %s, %s FROM ({sql}) x RETURNING id, object_id",
            [ct.pk, transicion, ctx.paso or "", destino, ctx.usuario.pk, ctx.rol, creado, ctx.nota or "", *params],
        )
        escritos = cur.fetchall()
    pks = [object_id for _, object_id in escritos]
    if pks:
        _avisar_bloque(bloqueo.model, _RegistrosDeBloque([pk for pk, _ in escritos]), pks)
    return pks


def _avisar_bloque(modelo: type[Model], registros: Sequence[RegistroAuditoria], pks: list[int]) -> None:
    transaction.on_commit(partial(transiciones_en_bloque.send, sender=modelo, registros=registros, pks=pks))


class _RegistrosDeBloque(Sequence[RegistroAuditoria]):
    """The audit rows of one INSERT … SELECT, as RegistroAuditoria objects in the order they were
    written, read from the database the first time a receiver looks at them."""

    def __init__(self, pks: list[int]) -> None:
        self.pks = pks
        self._filas: list[RegistroAuditoria] | None = None

    def _cargar(self) -> list[RegistroAuditoria]:
        if self._filas is None:
            por_pk = RegistroAuditoria.objects.in_bulk(self.pks)
            self._filas = [por_pk[pk] for pk in self.pks]
        return self._filas

    def __len__(self) -> int:
        return len(self.pks)

    @overload
    def __getitem__(self, i: int) -> RegistroAuditoria: ...
    @overload
    def __getitem__(self, i: slice) -> list[RegistroAuditoria]: ...
    def __getitem__(self, i: int | slice) -> RegistroAuditoria | list[RegistroAuditoria]:
        return self._cargar()[i]
