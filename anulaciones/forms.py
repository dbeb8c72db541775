"""A form per step that takes input. Forms only shape and check what was typed; the
transition path (``transitions.aplicar`` / ``crear_*``) decides and writes."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from . import selectors
from .models import IntentoContacto, Observacion, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zona, Zonificacion
from .roles import Rol, roles_de

TEXTO = {"rows": 3}


class AriaErrores:
    """Marks a field with an error for screen readers (aria-invalid, message id)."""

    def add_error(self, field, error):
        super().add_error(field, error)
        nombres = [field] if field else []
        if field is None and hasattr(error, "error_dict"):
            nombres = list(error.error_dict)
        for nombre in nombres:
            if nombre in self.fields:
                self.fields[nombre].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{self.auto_id % self.add_prefix(nombre)}_error"}
                )


class EntrarForm(AuthenticationForm):
    """Login form with Spanish messages (throttling: django-axes, counted in the database)."""

    error_messages = {
        "invalid_login": "Usuario o contraseña incorrectos.",
        "inactive": "Esta cuenta está desactivada.",
    }


# --- hand-offs (issue 15.8) -------------------------------------------------------------------
# Transitions that pass the case to another area, with who receives it. Their form takes an
# optional note for the receiver: ``transitions.aplicar(nota=…)`` keeps it in the audit row, and
# the case and OT pages show the latest one (templates/includes/nota_entrega.html).
ENTREGAS = {
    (Solicitud, "solicitar_correccion"): "quien corrige (los destinatarios del Servicio de Ingeniería)",  # 3, 7
    (Solicitud, "digitar_modificacion"): "Gestión de Red o el COC, que observaron el caso",  # 4.1
    (Solicitud, "asignar_instalacion"): "el técnico de la zona, que instala",  # 5.2, 12
    (Solicitud, "anular_para_redigitacion"): "quien re-digita la solicitud",  # 9
    (Solicitud, "registrar_redigitacion"): "Gestión de Red, que revisa la nueva solicitud",  # 19.2
    (OrdenDeTrabajo, "asignar"): "el técnico de la zona",  # 5.2, 12
    (OrdenDeTrabajo, "reportar_a_coz"): "el COZ de la zona",  # 16, 17
    (OrdenDeTrabajo, "direccionar_a_coc"): "el COC",  # 18
    (OrdenDeTrabajo, "redireccionar_instalacion"): "el técnico de la zona",  # 12
    (OrdenDeTrabajo, "coordinar_anulacion"): "el COZ de la zona, que confirma la anulación",  # 10
}
NOMBRES_ENTREGA = frozenset(nombre for _, nombre in ENTREGAS)  # unique across the machines
CAMPO_NOTA = "nota"


def es_entrega(modelo, nombre):
    return (modelo, nombre) in ENTREGAS


def campo_nota(receptor):
    return forms.CharField(
        label="Nota para quien recibe",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"Opcional. La verá {receptor} en la página del caso y de la OT.",
    )


class NotaEntrega:
    """Adds the optional hand-off note (last field) to a transition's form. ``RECEPTOR`` names
    who reads it; the view passes ``cleaned_data["nota"]`` to ``aplicar`` as the audit note."""

    RECEPTOR = "el área que recibe el caso"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[CAMPO_NOTA] = campo_nota(self.RECEPTOR)


# --- step 1 and 19.2: the Solicitud data -------------------------------------------------
CAMPOS_SOLICITUD = [
    "numero_smartflex",
    "tipo",
    "cliente_nombre",
    "cliente_documento",
    "cliente_telefono",
    "calle",
    "numero_puerta",
    "zona",
    "referencias",
    "caja_nap",
    "plan",
    "vendedor",
]


# The registration's data the risk score reads (issue 19, views/riesgo.py datos_de_riesgo).
CAMPOS_RIESGO = ("calle", "caja_nap", "zona", "plan", "tipo", "asesor")


class SolicitudForm(AriaErrores, forms.ModelForm):
    """Step 1. MONITORA / TEAM_LEADER register for an asesor; the ASESOR registers own cases."""

    asesor = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Asesor",
        help_text="Asesor responsable del caso.",
    )
    numero_ot = forms.CharField(label="N° OT (si ya existe en Smartflex)", max_length=30, required=False)

    class Meta:
        model = Solicitud
        fields = CAMPOS_SOLICITUD
        widgets = {"referencias": forms.Textarea(attrs=TEXTO)}

    def __init__(self, *args, usuario=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.usuario = usuario
        self.duplicada = None
        self.fields["zona"].queryset = Zona.objects.filter(activa=True)
        roles = roles_de(usuario)
        if roles & {Rol.MONITORA, Rol.TEAM_LEADER}:
            self.fields["asesor"].queryset = selectors.asesores_a_elegir(usuario).order_by("username")
            self.fields["asesor"].required = Rol.ASESOR not in roles
        else:
            del self.fields["asesor"]
        # Issue 19: what the risk score reads; a change in one refreshes the form's risk panel (htmx).
        for nombre in CAMPOS_RIESGO:
            if nombre in self.fields:
                clases = self.fields[nombre].widget.attrs.get("class", "")
                self.fields[nombre].widget.attrs["class"] = f"{clases} dato-riesgo".strip()

    def clean_numero_smartflex(self):
        numero = self.cleaned_data["numero_smartflex"].strip()
        existente = Solicitud.objects.filter(numero_smartflex=numero).only("pk", "numero_smartflex").first()
        if existente is not None:
            self.duplicada = existente
            raise forms.ValidationError(f"Ya existe la solicitud con el N° Smartflex {numero}.")
        return numero

    def validate_unique(self):
        pass  # the duplicate number gets its own message (with a link) above

    def datos(self):
        """The keyword data for ``crear_solicitud``."""
        datos = {k: self.cleaned_data[k] for k in CAMPOS_SOLICITUD}
        if self.cleaned_data.get("asesor"):
            datos["asesor"] = self.cleaned_data["asesor"]
        if self.cleaned_data.get("numero_ot"):
            datos["numero_ot"] = self.cleaned_data["numero_ot"].strip()
        return datos


# Which fields of the Solicitud an observation's cause points at (19.2: what to fix).
CAMPOS_POR_CAUSA = {
    Observacion.Causa.CALLE: ("calle", "numero_puerta", "referencias"),
    Observacion.Causa.CAJA_NAP: ("caja_nap", "referencias"),
    Observacion.Causa.DATOS_TECNICOS: ("plan", "caja_nap"),
    Observacion.Causa.DATOS_CLIENTE: ("cliente_nombre", "cliente_documento", "cliente_telefono"),
    Observacion.Causa.EQUIPOS: ("plan",),
}


class RegistrarRedigitacionForm(NotaEntrega, SolicitudForm):
    """19.2: the new Solicitud, pre-filled from the cancelled one. What was observed is shown
    beside the form (the view's «Qué corregir») and on the fields its cause points at; it is not
    copied into the new Solicitud's data."""

    RECEPTOR = ENTREGAS[(Solicitud, "registrar_redigitacion")]

    def __init__(self, *args, objeto=None, usuario=None, **kwargs):
        obs = objeto.ultima_observacion() if objeto is not None else None
        if objeto is not None and not kwargs.get("data") and not args:
            inicial = {k: getattr(objeto, k) for k in CAMPOS_SOLICITUD if k != "zona"}
            inicial["zona"] = objeto.zona_id
            inicial["numero_smartflex"] = ""
            kwargs["initial"] = inicial
        super().__init__(*args, usuario=usuario, **kwargs)
        self.fields.pop("asesor", None)  # the new Solicitud keeps the asesor of the cancelled one
        self.fields["numero_smartflex"].help_text = "El N° Smartflex de la nueva solicitud."
        self.observados = CAMPOS_POR_CAUSA.get(obs.causa, ()) if obs is not None else ()
        for nombre in self.observados:
            campo = self.fields.get(nombre)
            if campo is not None:
                campo.help_text = f"Observado ({obs.get_causa_display()}): revise este dato."
                campo.widget.attrs["data-observado"] = "1"

    def datos(self):
        return {"nueva": super().datos()}


class VincularRedigitacionForm(AriaErrores, forms.Form):
    """19.2 when the re-entry is already registered (issue 18): the number of the new Solicitud
    (typed in Smartflex and imported, or registered in the application); the transition checks
    that it can be this one's re-digitation."""

    numero_nueva = forms.CharField(
        label="N° Smartflex de la solicitud re-digitada",
        max_length=30,
        help_text="La solicitud nueva, ya registrada, del mismo cliente: se une a este caso como su re-digitación.",
    )


# --- transitions ---------------------------------------------------------------------------
AYUDA_ALCANCE = (
    "De forma (p. ej. equipos): no impide la instalación; queda como modificación pendiente que "
    "el asesor digita una vez ejecutada la OT (19.1). De fondo: la instalación no puede seguir tal "
    "como fue registrada (corrección, re-digitación o anulación)."
)


class ObservarForm(AriaErrores, forms.Form):
    """Steps 2 and 6."""

    causa = forms.ChoiceField(label="Causa", choices=[("", "— elija —")] + list(Observacion.Causa.choices))
    detalle = forms.CharField(label="Detalle del error u omisión", widget=forms.Textarea(attrs=TEXTO))
    alcance = forms.ChoiceField(
        label="Alcance", choices=Observacion.Alcance.choices, initial=Observacion.Alcance.FONDO, help_text=AYUDA_ALCANCE
    )
    subsanable = forms.BooleanField(
        label="Subsanable",
        required=False,
        initial=True,
        help_text="Subsanable: se corrige con un Servicio de Ingeniería (pasos 3 y 7).",
    )


class SolicitarCorreccionForm(NotaEntrega, AriaErrores, forms.Form):
    """Steps 3 and 7: one SI per recipient (step 7: Monitoras Plataforma, Team Leader Ventas and
    Gestión de Red at once)."""

    RECEPTOR = ENTREGAS[(Solicitud, "solicitar_correccion")]

    destinatarios = forms.MultipleChoiceField(
        label="Destinatarios",
        choices=[(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS],
        initial=[Rol.ASESOR],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Elija al menos un destinatario."},
        help_text="Se abre un Servicio de Ingeniería para cada destinatario marcado.",
    )
    requerido = forms.CharField(
        label="Qué se requiere (3.2)",
        widget=forms.Textarea(attrs=TEXTO),
        help_text="Mejor referencia de dirección, caja más cercana…",
    )

    def datos(self):
        return {"requerido": self.cleaned_data["requerido"], "destinatarios": self.cleaned_data["destinatarios"]}


class ModificacionForm(AriaErrores, forms.Form):
    """Step 19.1: the form modification (e.g. equipment) once the OT is executed."""

    modificacion = forms.CharField(label="Modificación digitada", widget=forms.Textarea(attrs=TEXTO))

    def __init__(self, *args, objeto=None, **kwargs):
        super().__init__(*args, **kwargs)
        pendiente = getattr(objeto, "modificacion_pendiente", "")
        if pendiente:
            self.fields["modificacion"].help_text = f"Pendiente de la observación de forma: {pendiente}"
            if not self.is_bound:
                self.fields["modificacion"].initial = pendiente


def _normalizar(valor):
    """What a browser sends back for a pre-filled field (CRLF line ends) compared as typed."""
    return (valor or "").replace("\r\n", "\n").replace("\r", "\n").strip()


class DigitarModificacionForm(NotaEntrega, AriaErrores, forms.Form):
    """Step 4.1: the asesor corrects the structured data in place (pre-filled from the
    Solicitud) and/or describes the modification; only changed values are sent. A field not
    posted at all keeps its current value."""

    RECEPTOR = ENTREGAS[(Solicitud, "digitar_modificacion")]

    CAMPOS = ("calle", "numero_puerta", "referencias", "caja_nap")

    modificacion = forms.CharField(
        label="Modificación digitada (campo observación)",
        required=False,
        widget=forms.Textarea(attrs=TEXTO),
        help_text="Puede quedar vacía si corrigió algún dato de abajo.",
    )
    calle = forms.CharField(label="Calle", max_length=200)
    numero_puerta = forms.CharField(label="Número", max_length=20, required=False)
    referencias = forms.CharField(
        label="Referencias de dirección", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    caja_nap = forms.CharField(label="Caja / NAP más cercana", max_length=60, required=False)

    def __init__(self, data=None, *args, objeto=None, **kwargs):
        self.objeto = objeto
        actuales = {c: getattr(objeto, c) or "" for c in self.CAMPOS} if objeto is not None else {}
        if data is not None and actuales:
            data = data.copy()
            for campo, valor in actuales.items():
                if campo not in data:
                    data[campo] = valor
        kwargs.setdefault("initial", actuales)
        super().__init__(data, *args, **kwargs)
        for campo in self.CAMPOS:
            if actuales:
                self.fields[campo].help_text = f"Actual: {actuales[campo] or '—'}"

    def datos(self):
        datos = {"modificacion": self.cleaned_data["modificacion"]}
        for campo in self.CAMPOS:
            nuevo = _normalizar(self.cleaned_data.get(campo))
            anterior = _normalizar(getattr(self.objeto, campo, "")) if self.objeto is not None else None
            if nuevo != anterior:
                datos[campo] = nuevo
        return datos


class AnularForm(AriaErrores, forms.Form):
    """Steps 10, 13 on the OT (motivo only)."""

    motivo = forms.CharField(label="Motivo de la anulación", widget=forms.Textarea(attrs=TEXTO))


class CoordinarAnulacionForm(NotaEntrega, AnularForm):
    """Step 10: the COC's cancellation agreed with the zonal center, which confirms it."""

    RECEPTOR = ENTREGAS[(OrdenDeTrabajo, "coordinar_anulacion")]


AYUDA_JUSTIFICACION = (
    "Obligatoria si un Servicio de Ingeniería del caso aún está en plazo (5.2: se espera la "
    "respuesta en el día) o si no hay intento de contacto con el abonado registrado (3.3)."
)


class AnularSolicitudForm(AnularForm):
    """Steps 5.2, 10, 13 on the Solicitud: with the justification 5.2 / 3.3 ask for."""

    justificacion = forms.CharField(
        label="Justificación", required=False, widget=forms.Textarea(attrs=TEXTO), help_text=AYUDA_JUSTIFICACION
    )

    def __init__(self, *args, objeto=None, **kwargs):
        super().__init__(*args, **kwargs)
        if objeto is not None:
            from django.utils import timezone

            falta = objeto._hay_que_justificar(timezone.now())
            if falta:
                self.fields["justificacion"].help_text = f"Obligatoria en este caso: {falta}."


class AnularRedigitacionForm(NotaEntrega, AriaErrores, forms.Form):
    """Steps 8–9."""

    RECEPTOR = ENTREGAS[(Solicitud, "anular_para_redigitacion")]

    datos_precisos = forms.CharField(label="Datos precisos observados (9.1)", widget=forms.Textarea(attrs=TEXTO))
    destinatario = forms.ChoiceField(
        label="Destinatario", choices=[(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS], initial=Rol.ASESOR
    )


class AtenderForm(AriaErrores, forms.Form):
    """Step 4.2."""

    respuesta = forms.CharField(label="Respuesta", widget=forms.Textarea(attrs=TEXTO))


class AsignarOrdenForm(NotaEntrega, AriaErrores, forms.Form):
    """Steps 5.2 / 12: the OT to a técnico of its zone (optional)."""

    RECEPTOR = ENTREGAS[(OrdenDeTrabajo, "asignar")]

    tecnico = forms.ModelChoiceField(label="Técnico", queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, objeto=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = get_user_model().objects.filter(groups__name=Rol.TECNICO, is_active=True)
        if objeto is not None:
            qs = qs.filter(perfil__zona_id=objeto.zona_id)
        self.fields["tecnico"].queryset = qs.order_by("username")


class ReportarObservacionForm(AriaErrores, forms.Form):
    """Steps 14–15.1: the técnico's field report."""

    causa = forms.ChoiceField(label="Causa", choices=[("", "— elija —")] + list(Observacion.Causa.choices))
    observacion = forms.CharField(label="Observación de campo", widget=forms.Textarea(attrs=TEXTO))
    alcance = forms.ChoiceField(
        label="Alcance",
        choices=Observacion.Alcance.choices,
        initial=Observacion.Alcance.FONDO,
        help_text=AYUDA_ALCANCE + " Una observación de forma deja la OT asignada.",
    )
    subsanable = forms.BooleanField(label="Subsanable", required=False, initial=True)
    datos_comerciales = forms.CharField(
        label="Datos comerciales", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    datos_tecnicos = forms.CharField(label="Datos técnicos", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    equipos = forms.CharField(label="Equipos", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    solicitudes_adicionales = forms.CharField(
        label="Solicitudes adicionales del cliente", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReportarACozForm(NotaEntrega, AriaErrores, forms.Form):
    """Steps 16 / 17."""

    RECEPTOR = ENTREGAS[(OrdenDeTrabajo, "reportar_a_coz")]

    propuesta = forms.ChoiceField(label="Propuesta", choices=OrdenDeTrabajo.Propuesta.choices, widget=forms.RadioSelect)


class ZonificacionForm(AriaErrores, forms.ModelForm):
    """Step 20.1."""

    class Meta:
        model = Zonificacion
        fields = ["tipo_correccion", "zona_corregida", "calle", "referencia", "caja_nap", "latitud", "longitud"]
        widgets = {"referencia": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zona_corregida"].queryset = Zona.objects.filter(activa=True)

    def _post_clean(self):
        pass  # the model is validated by the transition path (recibir_zonificacion)


class ImpedimentoForm(AriaErrores, forms.Form):
    """Step 20.2: an impediment reported as an SI. Without a chosen recipient it goes to the COC
    when the OT was not closed by Operations, otherwise to Gestión de Red."""

    POR_DEFECTO = {ServicioIngenieria.Impedimento.CIERRE_OT: Rol.COC}

    impedimento = forms.ChoiceField(
        label="Impedimento", choices=[("", "— elija —")] + list(ServicioIngenieria.Impedimento.choices)
    )
    destinatario = forms.ChoiceField(
        label="Destinatario",
        required=False,
        choices=[("", "Según el impedimento (falta de cierre de OT: COC; los demás: Gestión de Red)")]
        + [(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS],
    )
    requerido = forms.CharField(
        label="Qué se requiere",
        widget=forms.Textarea(attrs=TEXTO),
        help_text="Qué impide digitar la zonificación y qué se pide para resolverlo.",
    )

    def datos(self):
        impedimento = self.cleaned_data["impedimento"]
        destinatario = self.cleaned_data["destinatario"] or self.POR_DEFECTO.get(impedimento, Rol.GESTION_RED)
        return {"impedimento": impedimento, "destinatario": destinatario, "requerido": self.cleaned_data["requerido"]}


class ContactoForm(AriaErrores, forms.Form):
    """3.3: an attempt to reach the subscriber."""

    canal = forms.ChoiceField(label="Canal", choices=IntentoContacto.Canal.choices)
    resultado = forms.ChoiceField(label="Resultado", choices=IntentoContacto.Resultado.choices)
    detalle = forms.CharField(label="Detalle", required=False, widget=forms.Textarea(attrs={"rows": 2}))


# (model, transition) -> form; transitions not listed take no input (a confirmation button).
FORMULARIOS = {
    (Solicitud, "observar"): ObservarForm,
    (Solicitud, "solicitar_correccion"): SolicitarCorreccionForm,
    (Solicitud, "digitar_modificacion"): DigitarModificacionForm,
    (Solicitud, "anular"): AnularSolicitudForm,
    (Solicitud, "anular_para_redigitacion"): AnularRedigitacionForm,
    (Solicitud, "registrar_redigitacion"): RegistrarRedigitacionForm,
    (Solicitud, "vincular_redigitacion"): VincularRedigitacionForm,
    (Solicitud, "modificar_forma"): ModificacionForm,
    (OrdenDeTrabajo, "asignar"): AsignarOrdenForm,
    (OrdenDeTrabajo, "reportar_observacion"): ReportarObservacionForm,
    (OrdenDeTrabajo, "reportar_a_coz"): ReportarACozForm,
    (OrdenDeTrabajo, "ratificar_anulacion"): AnularForm,
    (OrdenDeTrabajo, "coordinar_anulacion"): CoordinarAnulacionForm,
    (ServicioIngenieria, "atender"): AtenderForm,
}


def formulario_de(modelo, nombre):
    return FORMULARIOS.get((modelo, nombre))


class NotaEntregaForm(NotaEntrega, AriaErrores, forms.Form):
    """A hand-off that takes no data of its own: only the note."""


# Hand-offs without a form of their own (asignar_instalacion, direccionar_a_coc,
# redireccionar_instalacion): their button still posts at once (the note travels in the button's
# own box, templates/includes/acciones.html); their transition page shows the note field.
SOLO_NOTA = {
    clave: type("NotaEntregaForm", (NotaEntregaForm,), {"RECEPTOR": receptor})
    for clave, receptor in ENTREGAS.items()
    if clave not in FORMULARIOS
}


def formulario_de_pagina(modelo, nombre):
    """The form of a transition's page: its own, or only the hand-off note."""
    return FORMULARIOS.get((modelo, nombre)) or SOLO_NOTA.get((modelo, nombre))


class FiltroDireccionesForm(AriaErrores, forms.Form):
    """The address knowledge's filters: the map page, its GeoJSON export and the API's layer."""

    zona = forms.ModelChoiceField(
        queryset=Zona.objects.all(), required=False, to_field_name="codigo", empty_label="Todas"
    )
    desde = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    hasta = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        datos = super().clean()
        for campo in ("desde", "hasta"):
            if datos.get(campo) and not 2000 <= datos[campo].year <= 2100:
                self.add_error(campo, "Indique una fecha entre los años 2000 y 2100.")
                datos.pop(campo, None)
        if datos.get("desde") and datos.get("hasta") and datos["desde"] > datos["hasta"]:
            self.add_error("hasta", "«Hasta» es anterior a «desde».")
        return datos
