from django.http import JsonResponse

from anulaciones.models import ServicioIngenieria


def fila(request, pk):
    """The HTTP floor: a bare Django view that reads one row by primary key."""
    si = ServicioIngenieria.objects.values("pk", "estado", "version").get(pk=pk)
    return JsonResponse(si)
