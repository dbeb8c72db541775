"""Domain errors of the transition path. Views, the API and the admin turn them into
messages (and HTTP 400/403/404/409); none of them is ever a 500."""


class ErrorDominio(Exception):
    codigo_http = 400

    def __init__(self, mensaje, errores=None):
        super().__init__(mensaje)
        self.mensaje = mensaje
        self.errores = errores or {}


class DatosInvalidos(ErrorDominio):
    """The transition's data is missing or wrong; ``errores`` maps field -> message."""

    codigo_http = 400

    def __init__(self, errores, mensaje="Revise los datos ingresados."):
        super().__init__(mensaje, errores)


class SinPermiso(ErrorDominio):
    """The user's role (or scope: zone, own case, team) does not allow the transition."""

    codigo_http = 403


class TransicionNoPermitida(ErrorDominio):
    """The transition is not allowed from the object's current state."""

    codigo_http = 409


class Conflicto(ErrorDominio):
    """Another user changed the object first."""

    codigo_http = 409
