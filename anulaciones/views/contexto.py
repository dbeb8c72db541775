"""Context processor of the layout: which navigation links this user's roles open (the table of
pages and roles lives in anulaciones/navegacion.py)."""


def navegacion(request):
    from ..navegacion import contexto

    return contexto(request)
