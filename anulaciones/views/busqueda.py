"""Search box (issue 15, item 5): client name, document, phone, street with door number,
Smartflex, OT or SI number — accents and case aside, best match first — within what the user may
see (``Solicitud.objects.visibles_para``). How the text is read: ``anulaciones.buscador``."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import buscador, selectors
from ..tables import BusquedaTable, ConfiguracionAcotada, url_caso


@require_GET
@login_required
def buscar(request):
    consulta = buscador.leer(request.GET.get("q"))
    if consulta.valida and not request.GET.get("page") and not request.GET.get("sort"):
        # One exact Smartflex or OT number, or "SI 123": straight to the case page.
        exacta = selectors.solicitud_exacta(user=request.user, q=consulta)
        if exacta is not None:
            return redirect(url_caso(exacta))
    solicitudes = selectors.buscar_solicitudes(user=request.user, q=consulta)
    amplia = consulta.valida and not consulta.solo_exacta and selectors.hay_mas_de(solicitudes, buscador.MAX_RESULTADOS)
    if amplia:  # too broad to rank ("calle"): the exact numbers only, and a request to narrow it
        solicitudes = selectors.buscar_solicitudes(user=request.user, q=consulta, solo_exactas=True)
    tabla = BusquedaTable(solicitudes)
    ConfiguracionAcotada(request, paginate={"per_page": 25}).configure(tabla)
    return render(
        request,
        "busqueda/resultados.html",
        {
            "q": consulta.original,
            "consulta": consulta,
            "tabla": tabla,
            "amplia": amplia,
            "maximo": buscador.MAX_CARACTERES,
            "max_resultados": f"{buscador.MAX_RESULTADOS:,}".replace(",", "."),
        },
    )
