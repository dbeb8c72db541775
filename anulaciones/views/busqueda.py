"""Search box: Smartflex number, client name, address (street) or OT number, within what the
user may see (``Solicitud.objects.visibles_para``)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import selectors
from ..tables import BusquedaTable, ConfiguracionAcotada, url_caso


@require_GET
@login_required
def buscar(request):
    q = selectors.texto_busqueda(request.GET.get("q"))
    if q and not request.GET.get("page") and not request.GET.get("sort"):
        # One exact Smartflex or OT number: straight to the case page.
        exacta = selectors.solicitud_exacta(user=request.user, q=q)
        if exacta is not None:
            return redirect(url_caso(exacta))
    tabla = BusquedaTable(selectors.buscar_solicitudes(user=request.user, q=q))
    ConfiguracionAcotada(request, paginate={"per_page": 25}).configure(tabla)
    return render(request, "busqueda/resultados.html", {"q": q, "tabla": tabla})
