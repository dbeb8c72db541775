"""Builders that take an object to any state of its machine through the transition path,
as the people of the procedure would."""

from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion


class Escenarios:
    def __init__(self, u, nueva_solicitud, zona):
        self.u, self.nueva, self.zona = u, nueva_solicitud, zona

    # Solicitud ------------------------------------------------------------------------
    def solicitud(self, estado="registrada", **extra):
        u = self.u
        s = self.nueva(**extra)
        if estado == "registrada":
            return s
        if estado in ("observada", "en_correccion", "corregida"):
            T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita")
            if estado != "observada":
                T.aplicar(
                    s,
                    "solicitar_correccion",
                    u.gestion_red,
                    destinatario="ASESOR",
                    requerido="Referencia de dirección precisa",
                )
            if estado == "corregida":
                T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Calle: Av. Juan Pablo II")
        elif estado in ("en_instalacion", "instalada"):
            T.aplicar(s, "asignar_instalacion", u.gestion_red)
            if estado == "instalada":
                T.aplicar(s.orden, "ejecutar", u.tecnico)
        elif estado == "anulada":
            T.aplicar(
                s, "anular", u.gestion_red, motivo="Cliente desiste", justificacion="El cliente llamó para desistir"
            )
        elif estado in ("pendiente_redigitacion", "redigitada"):
            T.aplicar(s, "observar", u.coc, causa="datos_tecnicos", detalle="Plan inexistente")
            T.aplicar(s, "anular_para_redigitacion", u.coc, datos_precisos="Plan correcto: Fibra 200")
            if estado == "redigitada":
                T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=self.datos_nueva(s))
        else:
            raise ValueError(estado)
        s.refresh_from_db()
        assert s.estado == estado, (s.estado, estado)
        return s

    def datos_nueva(self, s, numero=None):
        return dict(
            numero_smartflex=numero or f"{s.numero_smartflex}-R",
            tipo=s.tipo,
            cliente_nombre=s.cliente_nombre,
            calle=s.calle,
            numero_puerta=s.numero_puerta,
            zona=s.zona,
            referencias=s.referencias,
            caja_nap=s.caja_nap,
            plan="Fibra 200",
            vendedor=s.vendedor,
        )

    # OrdenDeTrabajo -------------------------------------------------------------------
    def orden(self, estado="generada"):
        u = self.u
        s = self.nueva()
        o = s.orden
        if estado == "generada":
            return o
        if estado == "anulada":
            T.aplicar(o, "coordinar_anulacion", u.coc, motivo="Zona sin cobertura")
        else:
            T.aplicar(o, "asignar", u.gestion_red)
            if estado in ("observada_en_campo", "reportada_coz", "en_coc"):
                T.aplicar(o, "reportar_observacion", u.tecnico, observacion="Poste sin caja", causa="caja_nap")
            if estado in ("reportada_coz", "en_coc"):
                T.aplicar(o, "reportar_a_coz", u.tecnico, propuesta="gestionar")
            if estado == "en_coc":
                T.aplicar(o, "direccionar_a_coc", u.coz)
            if estado == "ejecutada":
                T.aplicar(o, "ejecutar", u.tecnico)
        o.refresh_from_db()
        assert o.estado == estado, (o.estado, estado)
        return o

    # ServicioIngenieria ---------------------------------------------------------------
    def servicio(self, estado="abierto", destinatario="ASESOR"):
        u = self.u
        s = self.solicitud("observada")
        T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario=destinatario, requerido="Caja más cercana")
        si = ServicioIngenieria.objects.get(solicitud=s)
        if estado == "vencido":
            T.aplicar(si, "vencer", u.sistema)
        elif estado == "atendido":
            T.aplicar(si, "atender", u.por_rol[destinatario], respuesta="Corregido")
        elif estado == "cerrado_sin_atencion":
            T.aplicar(si, "cerrar_sin_atencion", u.gestion_red)
        si.refresh_from_db()
        assert si.estado == estado
        return si

    # Zonificacion ---------------------------------------------------------------------
    def zonificacion(self, estado="recibida"):
        u = self.u
        o = self.orden("ejecutada")
        z = T.recibir_zonificacion(
            o,
            u.gestion_red,
            zona_corregida=self.zona,
            calle="Calle Murillo",
            referencia="Esquina plaza",
            caja_nap="NAP-07",
            latitud="-16.500000",
            longitud="-68.150000",
        )
        if estado in ("digitada", "remitida"):
            T.aplicar(z, "digitar", u.gestion_red)
        if estado == "remitida":  # 21.1: sent in a delivery (the build names it)
            T.aplicar(z, "remitir", u.gestion_red, entrega=entrega_de_prueba(u.gestion_red))
        z.refresh_from_db()
        assert z.estado == estado
        return z

    def en(self, modelo, estado):
        return {
            Solicitud: self.solicitud,
            OrdenDeTrabajo: self.orden,
            ServicioIngenieria: self.servicio,
            Zonificacion: self.zonificacion,
        }[modelo](estado)


def entrega_de_prueba(usuario):
    """A numbered delivery of this month with no workbook, for a test that sends one
    zonification through «remitir» (the build itself, ``reports.generar_entrega``, sends every
    pending one)."""
    from django.db.models import Max
    from django.utils import timezone

    from anulaciones.models import Entrega

    mes = timezone.localdate().replace(day=1)
    numero = (Entrega.objects.filter(mes=mes).aggregate(n=Max("numero"))["n"] or 0) + 1
    return Entrega.objects.create(mes=mes, numero=numero, generada_at=timezone.now(), generada_por=usuario)
