"""The user's notifications (deadlines, escalations, deliveries) and marking them read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import avisos
from ..models import Notificacion
from .comun import entero, ruta_local


@login_required
def notificaciones(request):
    """The user's notices, newest first, rendered by ``avisos.presentar`` (title, text, link) with
    the objects they refer to read in the same query: a constant number of queries per page."""
    qs = Notificacion.objects.filter(usuario=request.user).select_related(*avisos.RELACIONADOS)
    if request.GET.get("no_leidas"):
        qs = qs.filter(leida_at__isnull=True)
    pagina = Paginator(qs.order_by("-creado_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notificaciones/lista.html",
        {"pagina": pagina, "avisos": avisos.presentar(pagina), "solo_no_leidas": bool(request.GET.get("no_leidas"))},
    )


@login_required
@require_POST
def notificaciones_leer(request):
    """Mark one (``id``) or all of the user's notifications read; then go to ``next``."""
    qs = Notificacion.objects.filter(usuario=request.user, leida_at__isnull=True)
    if "id" in request.POST:
        ident = entero(request.POST["id"])
        qs = qs.filter(pk=ident) if ident is not None else qs.none()
    qs.update(leida_at=timezone.now())
    return redirect(ruta_local(request, request.POST.get("next")) or "notificaciones")
