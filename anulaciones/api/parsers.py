"""Request body parsers of the API: DRF's, with a bound on what a client can make the server do."""

from io import BytesIO

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from ..direcciones import PROFUNDIDAD_MAX_JSON, profundidad_json


class JSONAcotado(JSONParser):
    """JSON nested deeper than PROFUNDIDAD_MAX_JSON levels is a 400 before it is parsed (Python's
    parser would recurse until RecursionError: a 500). The body is already bounded in size by
    DATA_UPLOAD_MAX_MEMORY_SIZE (api/middleware.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        cuerpo = stream.read() if stream is not None else b""
        texto = cuerpo.decode((parser_context or {}).get("encoding") or "utf-8", errors="replace")
        if profundidad_json(texto) > PROFUNDIDAD_MAX_JSON:
            raise ParseError(f"El JSON está anidado en más de {PROFUNDIDAD_MAX_JSON} niveles.")
        try:
            return super().parse(BytesIO(cuerpo), media_type, parser_context)
        except RecursionError:  # pragma: no cover - guarded above
            raise ParseError("El JSON está demasiado anidado.") from None
