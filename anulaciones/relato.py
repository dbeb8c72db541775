"""The audit log told in words: what happened, as a person would say it.

    Gestión de Red (Gabriel) pidió corregir la solicitud SF-1 y abrió un Servicio de Ingeniería
    al asesor — paso 3
        «Observada» → «En corrección»
        y en consecuencia: se abrió el SI 5 (Corrección) al asesor

One audit row (``RegistroAuditoria``) becomes one ``Hecho``: who (the role's short name and the
person's first name, or «El sistema»), a past-tense phrase per (machine, transition) (``FRASES``:
every transition of every machine has its own, tests/test_relato.py fails on one without), the
step, the state labels and the note. The rows one transition writes share its ``Contexto``
(``transitions.Contexto.derivado``: same user, role, case and instant ``ahora``); the first is the
transition itself, the others its effects (their note is the automatic «Efecto de <transition>.»
or a note the effect was given), which are grouped beneath it: «… y en consecuencia: la OT-1
pasó a «Anulada»».

Everything is computed in Python over rows already read (``select_related`` of the user and the
content type, and the recipient of each SI birth annotated by ``registros``): a page costs the same
queries whatever the number of rows.
"""

import re
from dataclasses import dataclass, field
from functools import cache

from django.db.models import OuterRef, Q, Subquery

from .models import Entrega, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud, Zonificacion
from .roles import SISTEMA, Rol

MAQUINAS = (Solicitud, OrdenDeTrabajo, ServicioIngenieria, Zonificacion, Entrega)

# Audited actions that are not django-fsm transitions (written by the transition path directly).
ACCIONES_SIN_TRANSICION = {
    Solicitud: ("actualizar_datos", "recalcular_plazo"),
    ServicioIngenieria: ("recalcular_plazo",),  # the calendar changed (calendario.recalcular_plazos)
}

PREFIJO_EFECTO = "Efecto de "

# The role as a subject: the name people use for it in the procedure.
ROL_CORTO = {
    Rol.ASESOR: "Asesor Comercial",
    Rol.MONITORA: "Monitora",
    Rol.TEAM_LEADER: "Team Leader",
    Rol.GESTION_RED: "Gestión de Red",
    Rol.COC: "COC",
    Rol.COZ: "COZ",
    Rol.TECNICO: "Técnico",
    Rol.JEFE_DIVISION: "Jefe de División",
    Rol.FACTURACION: "Facturación",
}
# The recipient of an SI (3.1, 7): «abrió un Servicio de Ingeniería al asesor».
A_ROL = {
    Rol.ASESOR: "al asesor",
    Rol.MONITORA: "a la monitora",
    Rol.TEAM_LEADER: "al Team Leader",
    Rol.GESTION_RED: "a Gestión de Red",
    Rol.COC: "al COC",
}
# How an object of each machine is named inside a sentence (its ``objeto`` is ``str(obj)``).
ARTICULO = {Solicitud: "la", OrdenDeTrabajo: "la", ServicioIngenieria: "el", Zonificacion: "la", Entrega: "la"}
MINUSCULA = (Solicitud, Zonificacion, Entrega)  # «Solicitud SF-1» → «la solicitud SF-1»; «la OT-1» stays
# Rows written before the OT's name showed its prefix once (issue 15.9) say «OT OT-1».
OT_DOBLE = re.compile(r"\bOT (?=OT)", re.IGNORECASE)


@dataclass(frozen=True)
class Frase:
    """``hizo``: what the subject did, past tense, after the subject («anuló {obj}»). ``efecto``:
    the same thing told as a consequence of another transition, impersonal; None for a state
    change, told as «{obj} pasó a «<state>»». Placeholders: {obj} (the object, with its article),
    {destino} (the label of the state reached), {a_quien} (an SI's recipient, « al asesor»),
    {servicios} (the SIs a transition opened), {propuesta} (the técnico's proposal, 16/17)."""

    hizo: str
    efecto: str | None = None


FRASES = {
    Solicitud: {
        "registrar": Frase("registró {obj}", "se registró {obj}"),
        "observar": Frase("observó {obj}"),
        "solicitar_correccion": Frase("pidió corregir {obj} y abrió {servicios}"),
        "digitar_modificacion": Frase("digitó la modificación de {obj}"),
        "asignar_instalacion": Frase("asignó {obj} para instalación"),
        "anular": Frase("anuló {obj}"),
        "anular_para_redigitacion": Frase("anuló {obj} para re-digitación"),
        "registrar_redigitacion": Frase("registró la re-digitación de {obj}"),
        "vincular_redigitacion": Frase("vinculó la re-digitación ya registrada de {obj}"),
        "marcar_instalada": Frase("marcó {obj} como instalada"),
        "modificar_forma": Frase(
            "digitó la modificación de forma de {obj}", "se digitó la modificación de forma de {obj}"
        ),
        "actualizar_datos": Frase(
            "actualizó los datos de {obj} desde Smartflex", "se actualizaron los datos de {obj} desde Smartflex"
        ),
        "recalcular_plazo": Frase(
            "recalculó el plazo de re-digitación de {obj}", "se recalculó el plazo de re-digitación de {obj}"
        ),
    },
    OrdenDeTrabajo: {
        "generar": Frase("generó {obj}", "se generó {obj}"),
        "asignar": Frase("asignó {obj}"),
        "reportar_observacion": Frase("reportó una observación de campo en {obj}"),
        "reportar_a_coz": Frase("reportó {obj} al COZ{propuesta}"),
        "direccionar_a_coc": Frase("direccionó {obj} al COC"),
        "redireccionar_instalacion": Frase("re-direccionó {obj} para instalación"),
        "ratificar_anulacion": Frase("ratificó la anulación de {obj}"),
        "coordinar_anulacion": Frase("coordinó con el COZ la anulación de {obj}"),
        "confirmar_anulacion": Frase(
            "confirmó la anulación coordinada de {obj}", "se confirmó la anulación coordinada de {obj}"
        ),
        "ejecutar": Frase("ejecutó {obj}"),
    },
    ServicioIngenieria: {
        "abrir": Frase("abrió {obj}{a_quien}", "se abrió {obj}{a_quien}"),
        "atender": Frase("atendió {obj}"),
        "vencer": Frase("dio por vencido {obj}"),
        "recalcular_plazo": Frase("recalculó el plazo de {obj}", "se recalculó el plazo de {obj}"),
        "cerrar_sin_atencion": Frase("cerró {obj} sin atención"),
    },
    Zonificacion: {
        "recibir": Frase("recibió {obj}", "se recibió {obj}"),
        "digitar": Frase("digitó {obj} en Smartflex"),
        "remitir": Frase("remitió {obj} a Facturación"),
    },
    Entrega: {
        "generar": Frase("generó y envió {obj} a Facturación", "se generó {obj} para Facturación"),
        "acusar_recibo": Frase("acusó recibo de {obj}"),
    },
}

PROPUESTA = {"16": " y propuso gestionarla por otro sector", "17": " y propuso anularla"}


def acciones_auditadas(modelo):
    """Every name an audit row of ``modelo`` may carry: its birth, its transitions, the other
    audited actions."""
    from .transitions import transiciones

    return [modelo.TRANSICION_CREACION, *transiciones(modelo), *ACCIONES_SIN_TRANSICION.get(modelo, ())]


@cache
def _etiquetas_de_transicion():
    from .transitions import transiciones

    res: dict[str, str] = {}
    for modelo in MAQUINAS:
        for nombre, t in transiciones(modelo).items():
            res.setdefault(nombre, t.custom.get("label", nombre))
    return res


# --- the parts of a sentence ---------------------------------------------------------------
def sujeto(registro):
    """«Gestión de Red (Gabriel)»; «El sistema» for the deadline tasks and the system's imports."""
    if registro.rol == SISTEMA:
        return "El sistema"
    rol = ROL_CORTO.get(registro.rol, registro.rol or "")
    usuario = registro.usuario
    if usuario is None:
        return rol or "Alguien"
    nombre = (usuario.first_name or "").strip() or usuario.get_username()
    return f"{rol} ({nombre})" if rol else nombre


def modelo_de(registro):
    return registro.content_type.model_class() if registro.content_type_id else None


def nombrar(registro, modelo):
    """The object inside a sentence: «la solicitud SF-1», «la OT-1», «el SI 5 (Corrección)»."""
    texto = OT_DOBLE.sub("", registro.objeto or "")
    if modelo in MINUSCULA and texto:
        texto = texto[0].lower() + texto[1:]
    articulo = ARTICULO.get(modelo)
    return f"{articulo} {texto}" if articulo else texto


def etiqueta_estado(modelo, valor):
    if not valor:
        return ""
    estado = getattr(modelo, "Estado", None)
    if estado is not None and valor in estado.values:
        return estado(valor).label
    return valor


def _a_quien(destinatarios):
    """«al asesor», «a la monitora, al Team Leader y a Gestión de Red»."""
    partes = [A_ROL.get(d, f"a {d}") for d in dict.fromkeys(destinatarios)]
    if len(partes) <= 1:
        return "".join(partes)
    return f"{', '.join(partes[:-1])} y {partes[-1]}"


def _servicios(destinatarios):
    if not destinatarios:
        return "un Servicio de Ingeniería"
    if len(destinatarios) == 1:
        return f"un Servicio de Ingeniería {_a_quien(destinatarios)}"
    return f"Servicios de Ingeniería {_a_quien(destinatarios)}"


def frase_de(modelo, transicion):
    """The Frase of a (machine, transition), or None when it has none (a wording to add)."""
    return FRASES.get(modelo, {}).get(transicion)


def _capitalizar(texto):
    return texto[:1].upper() + texto[1:]


# --- one thing that happened ------------------------------------------------------------------
@dataclass
class Hecho:
    """One audit row told in words; a cause carries its effects (``efectos``)."""

    registro: RegistroAuditoria
    sujeto: str
    oracion: str  # the sentence, without the step
    paso: str
    origen: str  # state labels ("" at a birth)
    destino: str
    nota: str
    modelo_nombre: str
    efectos: list = field(default_factory=list)
    es_efecto: bool = False

    @property
    def fecha(self):
        return self.registro.creado_at

    @property
    def transicion(self):
        return self.registro.transicion

    @property
    def estados(self):
        """«Observada» → «En corrección»; only «Registrada» at a birth or when the state stays."""
        if not self.destino:
            return ""
        if self.origen and self.origen != self.destino:
            return f"«{self.origen}» → «{self.destino}»"
        return f"«{self.destino}»"

    @property
    def texto(self):
        """The whole thing on one line (the admin, plain-text exports)."""
        partes = [self.oracion + (f" — paso {self.paso}" if self.paso else "")]
        if self.efectos:
            partes.append("y en consecuencia: " + "; ".join(e.oracion for e in self.efectos))
        return " ".join(partes)

    def __str__(self):
        return self.texto


def _es_nota_automatica(nota):
    return (nota or "").startswith(PREFIJO_EFECTO)


def _causa_de_nota(nota):
    """«Efecto de asignar_instalacion. …» → ("asignar_instalacion", "…")."""
    resto = nota[len(PREFIJO_EFECTO) :]
    nombre, _, despues = resto.partition(".")
    return nombre.strip(), despues.strip()


def _frase_texto(frase_tpl, registro, modelo, destinatarios):
    return frase_tpl.format(
        obj=nombrar(registro, modelo),
        destino=etiqueta_estado(modelo, registro.estado_destino),
        a_quien=(" " + _a_quien([registro.destinatario_si])) if getattr(registro, "destinatario_si", None) else "",
        servicios=_servicios(destinatarios),
        propuesta=PROPUESTA.get(registro.paso, ""),
    )


def _frase_efecto(registro, modelo):
    frase = frase_de(modelo, registro.transicion)
    destino = etiqueta_estado(modelo, registro.estado_destino)
    if frase is not None and frase.efecto:
        return _frase_texto(frase.efecto, registro, modelo, [])
    if registro.estado_origen and registro.estado_origen != registro.estado_destino:
        return f"{nombrar(registro, modelo)} pasó a «{destino}»"
    if frase is not None:  # no impersonal wording: told with its subject
        return f"{sujeto(registro)} {_frase_texto(frase.hizo, registro, modelo, [])}"
    return f"{nombrar(registro, modelo)}: {registro.transicion} («{destino}»)"


def _hizo(registro, modelo, destinatarios=()):
    frase = frase_de(modelo, registro.transicion)
    if frase is None:  # a transition without wording yet: still readable (tests forbid it)
        etiqueta = _etiquetas_de_transicion().get(registro.transicion, registro.transicion)
        return f"realizó «{etiqueta}» en {nombrar(registro, modelo)}"
    return _frase_texto(frase.hizo, registro, modelo, list(destinatarios))


def _hecho(registro, *, efecto=False, destinatarios=()):
    modelo = modelo_de(registro)
    quien = sujeto(registro)
    nota = (registro.nota or "").strip()
    if efecto:
        oracion, nota = _frase_efecto(registro, modelo), ""  # an effect's note is the application's
    elif _es_nota_automatica(nota):  # an effect whose cause is not among the rows told
        causa, nota = _causa_de_nota(nota)
        etiqueta = _etiquetas_de_transicion().get(causa, causa)
        oracion = f"{_capitalizar(_frase_efecto(registro, modelo))}, en consecuencia de «{etiqueta}» por {quien}"
    else:
        oracion = f"{quien} {_hizo(registro, modelo, destinatarios)}"
    return Hecho(
        registro=registro,
        sujeto=quien,
        oracion=oracion,
        paso="" if efecto else registro.paso,
        origen=etiqueta_estado(modelo, registro.estado_origen),
        destino=etiqueta_estado(modelo, registro.estado_destino),
        nota=nota,
        modelo_nombre=modelo._meta.verbose_name if modelo else "",
        es_efecto=efecto,
    )


def relatar_uno(registro):
    """One row on its own (the admin's list): its sentence, step and states."""
    h = _hecho(registro)
    return " · ".join(p for p in (h.texto, h.estados) if p)


# --- grouping: a transition and its effects -------------------------------------------------
def _clave(registro):
    return registro.creado_at, registro.usuario_id, registro.caso_id


def _hermano(registro, causa):
    """The same transition on another object in one set-based call (two SIs of a case falling
    due together): told side by side, not as an effect."""
    return (
        registro.transicion == causa.transicion
        and registro.content_type_id == causa.content_type_id
        and not _es_nota_automatica(registro.nota)
    )


def agrupar(registros):
    """[(cause row, [effect rows])] in order: rows written by one transition (same instant, user
    and case; the transition's own row first) are one group."""
    grupos: list[tuple[RegistroAuditoria, list[RegistroAuditoria]]] = []
    abiertos: dict[tuple[object, ...], tuple[RegistroAuditoria, list[RegistroAuditoria]]] = {}
    for r in registros:
        clave = _clave(r)
        grupo = abiertos.get(clave)
        if grupo is not None and not _hermano(r, grupo[0]):
            grupo[1].append(r)
            continue
        grupo = (r, [])
        grupos.append(grupo)
        abiertos[clave] = grupo
    return grupos


def _destinatarios_abiertos(efectos):
    return [
        e.destinatario_si
        for e in efectos
        if e.transicion == ServicioIngenieria.TRANSICION_CREACION
        and getattr(e, "destinatario_si", None)
        and modelo_de(e) is ServicioIngenieria
    ]


def relatar(registros, *, efecto_visible=None):
    """The rows told in words, effects grouped under their cause: [Hecho]. ``efecto_visible``
    (row → bool) leaves out effects the reader is not shown (e.g. SIs on the OT page)."""
    hechos = []
    for causa, efectos in agrupar(registros):
        h = _hecho(causa, destinatarios=_destinatarios_abiertos(efectos))
        h.efectos = [_hecho(e, efecto=True) for e in efectos if efecto_visible is None or efecto_visible(e)]
        hechos.append(h)
    return hechos


# --- the rows of a page -------------------------------------------------------------------------
def registros(qs=None):
    """Audit rows ready to be told: user and content type joined, and each SI birth's recipient
    (``destinatario_si``) read in the same query."""
    qs = RegistroAuditoria.objects.all() if qs is None else qs
    return qs.select_related("usuario", "content_type").annotate(
        destinatario_si=Subquery(
            ServicioIngenieria.objects.filter(pk=OuterRef("object_id")).order_by().values("destinatario")[:1]
        )
    )


def del_caso(caso_id):
    """The case page's timeline: every row of the case, in order, told."""
    return relatar(registros(RegistroAuditoria.objects.de_caso(caso_id)))  # merged cases' rows too (issue 18)


def de_orden(orden):
    """The OT's history: every transition that touched the OT, told with its cause (a Solicitud's
    transition whose effect moved the OT) and its effects; SIs are left out (the zone roles who
    read this page do not see them)."""
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(OrdenDeTrabajo)
    filtro = Q(content_type=ct, object_id=orden.pk)
    caso_id = orden.solicitud.caso_id if orden.solicitud_id else None
    if caso_id is not None:
        filtro |= Q(caso_id=caso_id)
    filas = list(registros(RegistroAuditoria.objects.filter(filtro)).order_by("creado_at", "pk"))

    def es_de_la_orden(r):
        return r.content_type_id == ct.pk and r.object_id == orden.pk

    hechos = []
    for causa, efectos in agrupar(filas):
        if not (es_de_la_orden(causa) or any(es_de_la_orden(e) for e in efectos)):
            continue
        h = _hecho(causa, destinatarios=_destinatarios_abiertos(efectos))
        h.efectos = [_hecho(e, efecto=True) for e in efectos if modelo_de(e) is not ServicioIngenieria]
        hechos.append(h)
    return hechos


def de_objeto(obj):
    """One object's own rows, told (the admin's change page)."""
    return relatar(registros(RegistroAuditoria.de_objeto(obj)))
