from rest_framework.pagination import PageNumberPagination


class Paginacion(PageNumberPagination):
    """``?page=N&por_pagina=M`` (50 by default, at most 500)."""

    page_size = 50
    page_size_query_param = "por_pagina"
    max_page_size = 500
