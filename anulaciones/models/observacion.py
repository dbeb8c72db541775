from django.conf import settings
from django.db import models

from ..errors import DatosInvalidos
from ..roles import Rol


class Observacion(models.Model):
    """An error or omission detected on a case (steps 2, 6, 14). The first one makes the case
    *probable de anulación*."""

    class Causa(models.TextChoices):
        CALLE = "calle", "Nombre de calle / dirección"
        DATOS_TECNICOS = "datos_tecnicos", "Datos técnicos"
        CAJA_NAP = "caja_nap", "Caja / NAP"
        DATOS_CLIENTE = "datos_cliente", "Datos del cliente"
        EQUIPOS = "equipos", "Equipos"
        OTRO = "otro", "Otro"

    class Area(models.TextChoices):
        GESTION_RED = Rol.GESTION_RED, "Gestión de Red"
        COC = Rol.COC, "Centro de Operaciones Comercial"
        TECNICO = Rol.TECNICO, "Técnico Multiservicios"

    class Alcance(models.TextChoices):
        FORMA = "forma", "De forma (no impide la instalación)"
        FONDO = "fondo", "De fondo (impide la instalación tal como fue registrada)"

    solicitud = models.ForeignKey("Solicitud", on_delete=models.CASCADE, related_name="observaciones_registradas")
    orden = models.ForeignKey(
        "OrdenDeTrabajo", null=True, blank=True, on_delete=models.SET_NULL, related_name="observaciones_registradas"
    )
    caso = models.ForeignKey("Caso", on_delete=models.PROTECT, related_name="observaciones")
    paso = models.CharField(max_length=10)
    area = models.CharField("área que detectó", max_length=20, choices=Area.choices, db_index=True)
    causa = models.CharField(max_length=20, choices=Causa.choices, db_index=True)
    detalle = models.TextField()
    alcance = models.CharField(max_length=10, choices=Alcance.choices, default=Alcance.FONDO)
    subsanable = models.BooleanField(default=True)
    registrada_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creado_at = models.DateTimeField("registrada", db_index=True)

    class Meta:
        ordering = ["creado_at", "pk"]
        verbose_name = "observación"
        verbose_name_plural = "observaciones"
        indexes = [models.Index(fields=["caso", "creado_at"])]

    def __str__(self):
        return f"{self.get_causa_display()}: {self.detalle[:60]}"

    @classmethod
    def nueva(cls, ctx, *, solicitud, orden, causa, detalle, alcance, subsanable):
        errores = {}
        if causa not in cls.Causa.values:
            errores["causa"] = "Elija una causa de la lista."
        if not (detalle or "").strip():
            errores["detalle"] = "Describa el error u omisión detectado."
        if alcance not in cls.Alcance.values:
            errores["alcance"] = "Indique si la observación es de forma o de fondo."
        if errores:
            raise DatosInvalidos(errores)
        from .organizacion import Caso

        obs = cls.objects.create(
            solicitud=solicitud,
            orden=orden,
            caso_id=solicitud.caso_id,
            paso=ctx.paso,
            area=ctx.rol,
            causa=causa,
            detalle=detalle.strip(),
            alcance=alcance,
            subsanable=bool(subsanable),
            registrada_por=ctx.usuario,
            creado_at=ctx.ahora,
        )
        Caso.marcar_probable(solicitud.caso_id, ctx.ahora)
        return obs


class IntentoContacto(models.Model):
    """An attempt to reach the subscriber before a cancellation (3.3)."""

    class Canal(models.TextChoices):
        LLAMADA = "llamada", "Llamada"
        MENSAJE = "mensaje", "Mensaje"
        VISITA = "visita", "Visita"

    class Resultado(models.TextChoices):
        CONTACTADO = "contactado", "Contactado"
        SIN_RESPUESTA = "sin_respuesta", "Sin respuesta"
        NUMERO_ERRADO = "numero_errado", "Número errado"
        RECHAZA = "rechaza", "Cliente desiste"

    solicitud = models.ForeignKey("Solicitud", on_delete=models.CASCADE, related_name="contactos")
    caso = models.ForeignKey("Caso", on_delete=models.PROTECT, related_name="contactos")
    realizado_at = models.DateTimeField("cuándo", db_index=True)
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rol = models.CharField(max_length=20)
    canal = models.CharField(max_length=10, choices=Canal.choices)
    resultado = models.CharField(max_length=20, choices=Resultado.choices)
    detalle = models.TextField(blank=True)

    class Meta:
        ordering = ["realizado_at", "pk"]
        verbose_name = "intento de contacto"
        verbose_name_plural = "intentos de contacto"

    def __str__(self):
        from django.utils import timezone

        cuando = timezone.localtime(self.realizado_at)
        return f"{self.get_canal_display()} {cuando:%d/%m/%Y %H:%M}: {self.get_resultado_display()}"


class Correccion(models.Model):
    """A structured datum of a Solicitud corrected by a step (4.1: caja/NAP, address,
    references; 19.1), with its value before and after: what the field sees on the OT."""

    solicitud = models.ForeignKey("Solicitud", on_delete=models.CASCADE, related_name="correcciones")
    caso = models.ForeignKey("Caso", on_delete=models.PROTECT, related_name="correcciones")
    campo = models.CharField(max_length=40)
    etiqueta = models.CharField("dato", max_length=80)
    anterior = models.TextField("antes", blank=True)
    nuevo = models.TextField("ahora", blank=True)
    paso = models.CharField(max_length=10)
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rol = models.CharField(max_length=20)
    creado_at = models.DateTimeField("corregido", db_index=True)

    class Meta:
        ordering = ["creado_at", "pk"]
        verbose_name = "corrección de datos"
        verbose_name_plural = "correcciones de datos"
        indexes = [models.Index(fields=["solicitud", "creado_at"])]

    def __str__(self):
        return f"{self.etiqueta}: {self.anterior or '—'} → {self.nuevo or '—'}"
