from .archivo import ArchivoGuardado
from .auditoria import RegistroAuditoria
from .conciliacion import Diferencia, Emparejamiento, EstadoSmartflex
from .direcciones import AliasCalle, CajaNap, Calle, PuntoReferencia
from .entrega import Entrega
from .importacion import ImportacionSmartflex
from .notificacion import Notificacion
from .observacion import Correccion, IntentoContacto, Observacion
from .operacion import EjecucionPeriodica
from .orden import OrdenDeTrabajo
from .organizacion import CalendarioLaboral, Calendarios, Caso, Feriado, Perfil, Zona
from .riesgo import FactorRiesgo
from .servicio import ServicioIngenieria
from .solicitud import Solicitud
from .zonificacion import Zonificacion

MAQUINAS = (Solicitud, OrdenDeTrabajo, ServicioIngenieria, Zonificacion)

__all__ = [
    "AliasCalle",
    "ArchivoGuardado",
    "CajaNap",
    "CalendarioLaboral",
    "Calendarios",
    "Calle",
    "PuntoReferencia",
    "Caso",
    "Correccion",
    "Diferencia",
    "EjecucionPeriodica",
    "Emparejamiento",
    "Entrega",
    "EstadoSmartflex",
    "FactorRiesgo",
    "Feriado",
    "ImportacionSmartflex",
    "IntentoContacto",
    "MAQUINAS",
    "Notificacion",
    "Observacion",
    "OrdenDeTrabajo",
    "Perfil",
    "RegistroAuditoria",
    "ServicioIngenieria",
    "Solicitud",
    "Zona",
    "Zonificacion",
]
