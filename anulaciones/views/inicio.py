"""The home page: what this person must do now, per role, with counts.

Every queue costs two queries (a COUNT and the first rows), whatever its length."""
from django.contrib.auth.decorators import login_required
from django.db.models import Min, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ..models import Entrega, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion
from ..reports import pendientes, primer_dia
from ..roles import ROLES_DIGITACION, Rol, roles_de, zona_de
from ..calendario import plazo
from . import entregas

FILAS = 20


class Cola:
    """One queue of the home page: title, total count and the first rows."""

    def __init__(self, clave, titulo, qs, fila, vacia="Nada pendiente.", ayuda=""):
        self.clave, self.titulo, self.vacia, self.ayuda = clave, titulo, vacia, ayuda
        self.total = qs.count()
        self.filas = [fila(o) for o in qs[:FILAS]] if self.total else []
        self.mas = max(0, self.total - FILAS)


def _fila_solicitud(ahora, vence_attr=None, detalle=None):
    def fila(s):
        return {"url": reverse("solicitud", args=[s.pk]), "titulo": str(s),
                "detalle": detalle(s) if detalle else f"{s.cliente_nombre} · {s.calle} {s.numero_puerta} · {s.zona}",
                "estado": s.get_estado_display(),
                "plazo": plazo(getattr(s, vence_attr), ahora) if vence_attr else None}
    return fila


def _fila_orden(o):
    return {"url": reverse("orden", args=[o.pk]), "titulo": str(o),
            "detalle": f"{o.solicitud.cliente_nombre} · {o.solicitud.calle} {o.solicitud.numero_puerta} · {o.zona}",
            "estado": o.get_estado_display(), "plazo": None}


def _fila_servicio(ahora):
    def fila(si):
        return {"url": reverse("solicitud", args=[si.solicitud_id]),
                "titulo": f"{si} · Solicitud {si.solicitud.numero_smartflex}",
                "detalle": si.requerido, "estado": si.get_estado_display(), "plazo": plazo(si.vence_at, ahora)}
    return fila


def _fila_entrega(e):
    return {"url": f"{reverse('entregas')}#entrega-{e.pk}", "titulo": entregas.titulo(e),
            "detalle": f"{e.filas} caso(s) · generada el {timezone.localtime(e.generada_at):%d/%m/%Y %H:%M}",
            "estado": "Sin acuse de recibo", "plazo": None}


def colas_de(user, ahora=None):
    ahora = ahora or timezone.now()
    roles = roles_de(user)
    colas = []
    sols = Solicitud.objects.visibles_para(user).select_related("zona")
    ordenes = OrdenDeTrabajo.objects.visibles_para(user).select_related("zona", "solicitud")
    abiertos = Q(servicios__estado__in=ServicioIngenieria.ABIERTOS)

    if roles & set(ROLES_DIGITACION):
        propios = sols.filter(asesor=user) if roles & set(ROLES_DIGITACION) == {Rol.ASESOR} else sols
        colas.append(Cola(
            "correccion", "Casos por corregir (4.1)",
            propios.filter(estado=Solicitud.Estado.EN_CORRECCION).annotate(
                vence=Min("servicios__vence_at", filter=abiertos)).order_by("vence", "pk"),
            _fila_solicitud(ahora, "vence"), ayuda="Digite la modificación antes del cierre del día."))
        colas.append(Cola(
            "redigitacion", "Re-digitaciones pendientes (19.2)",
            propios.filter(estado=Solicitud.Estado.PENDIENTE_REDIGITACION).order_by("redigitacion_vence_at", "pk"),
            _fila_solicitud(ahora, "redigitacion_vence_at"), ayuda="Plazo: 2 horas desde la anulación."))
        colas.append(Cola(
            "forma", "Modificaciones de forma por digitar (19.1)",
            propios.filter(estado=Solicitud.Estado.INSTALADA).exclude(modificacion_pendiente="").order_by("pk"),
            _fila_solicitud(ahora, detalle=lambda s: s.modificacion_pendiente)))
    destinos = [r for r in ServicioIngenieria.DESTINATARIOS if r in roles and r != Rol.ASESOR]
    if destinos:
        colas.append(Cola(
            "servicios", "Servicios de Ingeniería abiertos dirigidos a usted",
            ServicioIngenieria.objects.visibles_para(user).abiertos().filter(destinatario__in=destinos)
            .select_related("solicitud").order_by("vence_at", "pk"),
            _fila_servicio(ahora)))
    if Rol.GESTION_RED in roles or Rol.COC in roles:
        colas.append(Cola(
            "revisar", "Solicitudes por revisar (2, 6)",
            sols.filter(estado__in=[Solicitud.Estado.REGISTRADA, Solicitud.Estado.CORREGIDA]).order_by("creado_at", "pk"),
            _fila_solicitud(ahora)))
    if Rol.COC in roles:
        colas.append(Cola(
            "observadas", "Solicitudes observadas: analizar (8–12)",
            sols.filter(estado=Solicitud.Estado.OBSERVADA).order_by("creado_at", "pk"), _fila_solicitud(ahora)))
        colas.append(Cola(
            "en_coc", "OTs en el COC: re-direccionar o ratificar la anulación (12, 13)",
            ordenes.filter(estado=OrdenDeTrabajo.Estado.EN_COC).order_by("actualizado_at", "pk"), _fila_orden))
    if Rol.GESTION_RED in roles:
        colas.append(Cola(
            "zonificar", "Zonificaciones por digitar en Smartflex (20.3)",
            Zonificacion.objects.filter(estado=Zonificacion.Estado.RECIBIDA).select_related("solicitud", "orden")
            .order_by("creado_at", "pk"),
            lambda z: {"url": reverse("solicitud", args=[z.solicitud_id]), "titulo": str(z),
                       "detalle": z.solicitud.cliente_nombre, "estado": z.get_estado_display(), "plazo": None}))
    if Rol.COZ in roles:
        colas.append(Cola(
            "coz", "OTs de su zona por verificar y direccionar al COC (18)",
            ordenes.filter(estado=OrdenDeTrabajo.Estado.REPORTADA_COZ, zona_id=zona_de(user)).order_by(
                "actualizado_at", "pk"), _fila_orden))
        colas.append(Cola(
            "coordinadas", "Anulaciones coordinadas por confirmar (10)",
            ordenes.filter(estado=OrdenDeTrabajo.Estado.ANULADA, zona_id=zona_de(user),
                           anulacion_coordinada_at__isnull=False, anulacion_confirmada_at__isnull=True)
            .order_by("anulacion_coordinada_at", "pk"),
            lambda o: {**_fila_orden(o), "detalle": f"{o.solicitud.cliente_nombre} · {o.solicitud.calle} "
                                                    f"{o.solicitud.numero_puerta} · Motivo: {o.motivo_anulacion}"},
            ayuda="El COC coordinó la anulación de estas OTs con su centro zonal: retírelas del plan de campo "
                  "y confirme en cada OT."))
    if Rol.TECNICO in roles:
        colas.append(Cola(
            "tecnico", "Sus órdenes de trabajo asignadas (14–17)",
            ordenes.filter(estado__in=[OrdenDeTrabajo.Estado.ASIGNADA, OrdenDeTrabajo.Estado.OBSERVADA_EN_CAMPO],
                           zona_id=zona_de(user)).filter(Q(tecnico=user) | Q(tecnico__isnull=True))
            .order_by("creado_at", "pk"), _fila_orden))
    return colas


def resumen_jefe(ahora):
    """The month so far, computed by the indicator report itself (III.2), so both agree: the
    same counts, the same two decimals toward the verdict, and the provisional range while
    cases are open (one aggregate query)."""
    from ..reports import indicador as ind

    periodo = ind.Periodo.actual()
    fila = ind._fila(ind.casos(periodo).aggregate(**ind._conteos(False)))
    valor = fila["indicador"]
    return {"desde": periodo.inicio, "probables": fila["probables"], "anulados": fila["anulados"],
            "abiertos": fila["abiertos"], "indicador": valor["valor"], "texto": valor["texto"],
            "veredicto": valor["veredicto"], "provisional": valor["provisional"], "rango": valor["rango"],
            "aviso_provisional": fila["aviso_provisional"]}


@login_required
def inicio(request):
    user = request.user
    roles = roles_de(user)
    ahora = timezone.now()
    contexto = {
        "roles": [Rol(r).label for r in sorted(roles) if r in Rol.values],
        "colas": colas_de(user, ahora),
        "puede_registrar": bool(roles & set(ROLES_DIGITACION)),
        "es_jefe": Rol.JEFE_DIVISION in roles,
        "es_facturacion": Rol.FACTURACION in roles,
        "ve_tablero": bool(roles & {Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION}),
    }
    if contexto["es_jefe"]:
        contexto["resumen"] = resumen_jefe(ahora)
        # 21.1: months that ended with zonifications in no delivery (red while someone must act)
        contexto["situacion"] = entregas.situacion(timezone.localdate(ahora), completa=False)
    if contexto["es_facturacion"]:
        contexto["entregas_sin_acuse"] = Cola(
            "entregas", "Entregas sin acuse de recibo (21.1)",
            Entrega.objects.filter(estado=Entrega.E.GENERADA).order_by("mes", "numero", "pk"), _fila_entrega,
            vacia="Todas las entregas tienen acuse de recibo.",
            ayuda="Descargue cada planilla y confirme con «Recibido» en la página Entregas.")
        contexto["zonificaciones_mes"] = pendientes(primer_dia(timezone.localdate(ahora))).count()
    return render(request, "inicio.html", contexto)
