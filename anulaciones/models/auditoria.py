"""The audit log, and how an audited object is named in it.

``Nombre`` declares once, as parts, the text that names an object: its ``__str__`` and the
``objeto`` of its audit rows. The same declaration gives the SQL expression the set-based path
(``transitions.auditoria``) writes with INSERT … SELECT, so the two cannot drift apart.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Case, CharField, F, Value, When
from django.db.models.functions import Cast, Concat, ExtractMonth, ExtractYear, LPad

from ..errors import ErrorDominio

LARGO_OBJETO = 120  # RegistroAuditoria.objeto


# --- how an audited object is named ---------------------------------------------------------
def _texto_sql(expresion):
    return Cast(expresion, CharField())


class Campo:
    """A field (``ruta`` may follow foreign keys: ``orden__numero``), as text."""

    def __init__(self, ruta):
        self.ruta = ruta

    def valor(self, obj):
        for paso in self.ruta.split("__"):
            obj = getattr(obj, paso)
        return obj

    def texto(self, obj):
        return str(self.valor(obj))

    def sql(self, modelo):
        return _texto_sql(F(self.ruta))


class Etiqueta(Campo):
    """A choice field of the model itself, by its label (``get_<campo>_display``)."""

    def _etiquetas(self, modelo):
        return {v: str(e) for v, e in modelo._meta.get_field(self.ruta).flatchoices}

    def texto(self, obj):
        valor = self.valor(obj)
        return self._etiquetas(type(obj)).get(valor, str(valor))

    def sql(self, modelo):
        return Case(
            *[When(**{self.ruta: v}, then=Value(e)) for v, e in self._etiquetas(modelo).items()],
            default=super().sql(modelo),
            output_field=CharField(),
        )


class NumeroOT(Campo):
    """An OT number with its «OT» prefix once: «OT-2609-00001» as it is, «OT 123» for a bare number."""

    @staticmethod
    def con_prefijo(numero):
        return numero if numero[:2].upper() == "OT" else f"OT {numero}"

    def texto(self, obj):
        return self.con_prefijo(str(self.valor(obj)))

    def sql(self, modelo):
        numero = super().sql(modelo)
        return Case(
            When(**{f"{self.ruta}__istartswith": "OT"}, then=numero),
            default=Concat(Value("OT "), numero),
            output_field=CharField(),
        )


class MesAnio(Campo):
    """A date as «11/2026»."""

    def texto(self, obj):
        return f"{self.valor(obj):%m/%Y}"

    def sql(self, modelo):
        return Concat(
            LPad(_texto_sql(ExtractMonth(self.ruta)), 2, Value("0")),
            Value("/"),
            _texto_sql(ExtractYear(self.ruta)),
            output_field=CharField(),
        )


class Nombre:
    """How an audited model names its objects, declared once on the model::

        NOMBRE = Nombre("SI ", Campo("pk"), " (", Etiqueta("tipo"), ")", caso="solicitud__caso_id")

    ``de(obj)`` is the text (``Maquina.__str__``); ``expresion()`` the same text computed by the
    database; ``caso`` the path to the case id (the SQL twin of ``caso_id_auditoria``)."""

    def __init__(self, *partes, caso=None):
        self.partes = partes
        self.caso = caso
        self.modelo = None

    def __set_name__(self, modelo, nombre):
        self.modelo = modelo

    def de(self, obj):
        return "".join(p if isinstance(p, str) else p.texto(obj) for p in self.partes)

    def expresion(self):
        sql = [Value(p) if isinstance(p, str) else p.sql(self.modelo) for p in self.partes]
        return sql[0] if len(sql) == 1 else Concat(*sql, output_field=CharField())

    def caso_sql(self):
        return F(self.caso) if self.caso else Value(None, output_field=models.BigIntegerField())


class AuditoriaInmutable(ErrorDominio):
    codigo_http = 405


class RegistroQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditoriaInmutable("El registro de auditoría no se modifica.")

    def delete(self):
        raise AuditoriaInmutable("El registro de auditoría no se borra.")

    def de_caso(self, caso_id):
        """The case's rows in order, with those of the cases merged into it (``Caso.unido_a``: a
        Solicitud linked as its re-digitation, issue 18, brings its birth and history, whose rows
        stay on the case they were written for). The merged cases are one indexed subquery, so the
        rows are still read by the (caso, creado_at) index whatever the size of the log."""
        from .organizacion import Caso

        casos = Caso.objects.filter(models.Q(pk=caso_id) | models.Q(unido_a_id=caso_id)).values("pk")
        return self.filter(caso_id__in=casos).select_related("usuario", "content_type").order_by("creado_at", "pk")


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
