"""Entregas a Facturación (21.1): the numbered deliveries of zonifications — list, on-demand build
of the next delivery of a month (GESTION_RED), download (FACTURACION, GESTION_RED) and the
acknowledgement of receipt (FACTURACION, through the transition path: ``acusar_recibo``).

``situacion`` says what is late or waiting and who acts next; the page, Facturación's home and
the jefe de división's home show it (a constant number of queries)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import transitions
from ..entregas import (
    ROLES_DESCARGA,
    ROLES_VEN,
    entrega_generada,
    generar_entrega,
    mes_de,
    meses_atrasados,
    pendientes,
    primer_dia,
    sin_nada_que_entregar,
    titulo,
    ya_recibida,
)
from ..errors import Conflicto, ErrorDominio, SinPermiso, TransicionNoPermitida
from ..espanol import cuenta
from ..filters import EntregaFilter
from ..models import Entrega
from ..roles import Rol, roles_de
from ..selectors import entregas_lista
from .comun import entero, siguiente

POR_PAGINA = 50


def _exigir(request, roles, mensaje):
    if not roles_de(request.user) & roles:
        raise PermissionDenied(mensaje)


def situacion(hoy=None, *, completa=True):
    """What is late or waiting in the deliveries, and who acts next.

    ``atrasados``: the months of ``meses_atrasados`` that still need someone — zonifications in no
    delivery (Gestión de Red generates the supplementary delivery, or the month's first) or
    deliveries without acknowledgement (Facturación confirms receipt) —, each with ``acciones``;
    ``resueltos``: months that were delivered late but need nothing more. With ``completa``, also
    ``pendientes_mes`` (``pendientes(this month).count()``), ``sin_acuse`` (every delivery not
    acknowledged yet) and ``este_mes_con_entrega`` (this month's deliveries). At most four queries,
    whatever the number of months or deliveries."""
    hoy = hoy or timezone.localdate()
    este_mes = primer_dia(hoy)
    meses = meses_atrasados(hoy)
    por_mes = {}
    if meses:
        por_mes = {
            f["mes"]: f
            for f in Entrega.objects.filter(mes__in=[m["mes"] for m in meses])
            .values("mes")
            .annotate(entregas=Count("pk"), sin_acuse=Count("pk", filter=Q(estado=Entrega.E.GENERADA)))
        }
    atrasados, resueltos = [], []
    for m in meses:
        hechas = por_mes.get(m["mes"], {"entregas": 0, "sin_acuse": 0})
        acciones = []
        if m["sin_entregar"]:
            acciones.append(
                "Gestión de Red: generar la entrega complementaria"
                if hechas["entregas"]
                else "Gestión de Red: generar la entrega del mes"
            )
        if hechas["sin_acuse"]:
            acciones.append(f"Facturación: confirmar recepción de {cuenta(hechas['sin_acuse'], 'entrega', 'entregas')}")
        fila = {**m, "entregas": hechas["entregas"], "sin_acuse": hechas["sin_acuse"], "acciones": acciones}
        (atrasados if acciones else resueltos).append(fila)
    res = {"este_mes": este_mes, "atrasados": atrasados, "resueltos": resueltos}
    if completa:
        res["pendientes_mes"] = pendientes(este_mes).count()
        res.update(
            Entrega.objects.aggregate(
                sin_acuse=Count("pk", filter=Q(estado=Entrega.E.GENERADA)),
                este_mes_con_entrega=Count("pk", filter=Q(mes=este_mes)),
            )
        )
    return res


def _lista(request, mes_tecleado=None, status=200):
    roles = roles_de(request.user)
    # The list of GET /api/v1/entregas/ (same selector, same filters: ?mes=AAAA-MM&estado=…).
    qs = EntregaFilter(request.GET, queryset=entregas_lista(), request=request).qs
    pagina = Paginator(qs, POR_PAGINA).get_page(request.GET.get("page"))
    return render(
        request,
        "entregas/lista.html",
        {
            "pagina": pagina,
            "entregas": list(pagina.object_list),
            "puede_generar": Rol.GESTION_RED in roles,
            "puede_recibir": Rol.FACTURACION in roles,
            "mes_actual": timezone.localdate().strftime("%Y-%m") if mes_tecleado is None else mes_tecleado,
            "situacion": situacion(),
        },
        status=status,
    )


@login_required
def entregas(request):
    _exigir(request, ROLES_VEN, "Solo Div. Facturación y Gestión de Red ven las entregas.")
    return _lista(request)


@login_required
@require_POST
def entrega_generar(request):
    """The next numbered delivery of the month typed: the month's first one, or a supplementary
    one with what was digitized after the last; nothing when there is nothing to deliver."""
    _exigir(request, {Rol.GESTION_RED}, "Solo Gestión de Red genera las entregas a Facturación.")
    texto = request.POST.get("mes") or timezone.localdate().strftime("%Y-%m")
    try:
        mes = mes_de(texto)
    except ValueError as e:
        messages.error(request, str(e))
        return _lista(request, mes_tecleado=texto, status=400)  # the form again, with what was typed
    try:
        entrega = generar_entrega(mes, request.user)
    except ErrorDominio as e:
        messages.error(request, e.mensaje)
        return redirect("entregas")
    if entrega is None:
        messages.info(request, sin_nada_que_entregar(mes))
    else:
        messages.success(request, entrega_generada(entrega))
    return redirect("entregas")


@login_required
@require_POST
def entrega_recibir(request, pk):
    """Facturación acknowledges receipt («Recibido»): ``acusar_recibo`` through the transition path
    (locked, role-checked, audited), with the version the page showed. Already received: 409 with
    the page and the message; changed since the page was read: 409 with the conflict's message."""
    _exigir(request, {Rol.FACTURACION}, "Solo Div. Facturación confirma la recepción de una entrega.")
    entrega = get_object_or_404(Entrega, pk=pk)
    try:
        transitions.aplicar(
            entrega, "acusar_recibo", request.user, version=entero(request.POST.get("version")), refrescar=False
        )
    except SinPermiso as e:
        return render(request, "403.html", {"mensaje": e.mensaje}, status=403)
    except (TransicionNoPermitida, Conflicto) as e:
        actual = Entrega.objects.select_related("recibida_por").filter(pk=pk).first()
        if isinstance(e, TransicionNoPermitida) and actual is not None and actual.estado == Entrega.E.RECIBIDA:
            messages.error(request, ya_recibida(actual))
        else:
            messages.error(request, e.mensaje)
        return _lista(request, status=e.codigo_http)
    except ErrorDominio as e:  # NoEncontrado (deleted meanwhile) and the like: never a 500
        messages.error(request, e.mensaje)
        return _lista(request, status=e.codigo_http)
    entrega = Entrega.objects.select_related("recibida_por").get(pk=pk)
    messages.success(
        request, f"{titulo(entrega)}: recepción confirmada el {timezone.localtime(entrega.recibida_at):%d/%m/%Y %H:%M}."
    )
    return redirect(siguiente(request, "/entregas/"))


@login_required
def entrega_descargar(request, pk):
    _exigir(request, ROLES_DESCARGA, "Solo Div. Facturación y Gestión de Red descargan la planilla.")
    entrega = Entrega.objects.filter(pk=pk).first()
    if entrega is None or not entrega.archivo:
        raise Http404("No existe esa entrega.")
    try:  # from the default storage (PostgreSQL, S3 or disk): whichever process wrote it
        archivo = entrega.archivo.open("rb")
    except FileNotFoundError:
        raise Http404("El archivo de esa entrega no está guardado.") from None
    return FileResponse(
        archivo,
        as_attachment=True,
        filename=entrega.nombre_archivo,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
