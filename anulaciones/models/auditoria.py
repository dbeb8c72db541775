from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from ..errors import ErrorDominio


class AuditoriaInmutable(ErrorDominio):
    codigo_http = 405


class RegistroQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditoriaInmutable("El registro de auditoría no se modifica.")

    def delete(self):
        raise AuditoriaInmutable("El registro de auditoría no se borra.")

    def de_caso(self, caso_id):
        return self.filter(caso_id=caso_id).select_related("usuario", "content_type").order_by("creado_at", "pk")


class RegistroAuditoria(models.Model):
    """One immutable row per transition: object, transition, step, from -> to, user, role,
    time, note. Append-only in the app and the admin; on PostgreSQL a trigger refuses UPDATE
    and DELETE as well."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    objeto = models.CharField(max_length=120)
    caso = models.ForeignKey("Caso", null=True, blank=True, on_delete=models.PROTECT, related_name="auditoria")
    transicion = models.CharField("transición", max_length=40, db_index=True)
    paso = models.CharField(max_length=10, blank=True)
    estado_origen = models.CharField(max_length=30, blank=True)
    estado_destino = models.CharField(max_length=30)
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    rol = models.CharField(max_length=20)
    creado_at = models.DateTimeField("fecha", db_index=True)
    nota = models.TextField(blank=True)

    objects = RegistroQuerySet.as_manager()

    class Meta:
        ordering = ["creado_at", "pk"]
        verbose_name = "registro de auditoría"
        verbose_name_plural = "registro de auditoría"
        indexes = [
            models.Index(fields=["content_type", "object_id", "creado_at"]),
            models.Index(fields=["caso", "creado_at"]),
        ]

    def __str__(self):
        return f"{self.objeto}: {self.transicion} {self.estado_origen or '∅'} → {self.estado_destino}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditoriaInmutable("El registro de auditoría no se modifica.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditoriaInmutable("El registro de auditoría no se borra.")

    @classmethod
    def de_objeto(cls, obj):
        ct = ContentType.objects.get_for_model(type(obj))
        return cls.objects.filter(content_type=ct, object_id=obj.pk).order_by("creado_at", "pk")
