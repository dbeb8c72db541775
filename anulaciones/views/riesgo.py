"""Risk of observation or cancellation at entry (issue 19), as users see it: the panel of the
registration form (its live preview through htmx, and after a submit without JavaScript), the
band on the case page, the queues and lists, and the evaluation page of Gestión de Red and the
Jefe de División. The score itself is the engine's (``anulaciones.riesgo``, ``puntaje``)."""

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import riesgo as motor
from .. import selectors
from ..espanol import cuenta, numero, palabra
from ..models import Solicitud, Zona
from ..navegacion import ROLES_RIESGO
from ..roles import Rol, roles_de
from .comun import entero

BANDAS = {"bajo": "Bajo", "medio": "Medio", "alto": "Alto"}
# What the registration's data are cut to before scoring (the model's own limits).
LARGOS = {"calle": 200, "caja_nap": 60, "plan": 120}


def prohibido(request, mensaje):
    return render(request, "403.html", {"mensaje": mensaje}, status=403)


# --- the panel -------------------------------------------------------------------------------------
def _texto(motivo):
    return motivo.get("texto", "") if isinstance(motivo, dict) else str(motivo)


def panel(banda, motivos=(), sugerencias=(), riesgo=None, aceptado=False, quien=""):
    """What templates/includes/riesgo.html shows: the band in words, the reasons that weigh most
    (their sentences) and what would lower the risk. ``banda`` "" (no history yet): no score."""
    banda = banda or ""
    return {
        "banda": banda if banda in BANDAS else "",
        "texto": BANDAS.get(banda, ""),
        "riesgo": riesgo,
        "porcentaje": porcentaje(riesgo),
        "motivos": [t for t in (_texto(m) for m in motivos or ()) if t],
        "sugerencias": [str(s) for s in sugerencias or () if s],
        "aceptado": aceptado,
        "quien": quien,
    }


def panel_de_previa(previa):
    """The panel of ``riesgo.vista_previa``'s answer."""
    return panel(previa.get("banda"), previa.get("motivos"), previa.get("sugerencias"), previa.get("riesgo"))


def panel_de_solicitud(sol):
    """The panel of a registered Solicitud: what was stored when it was registered."""
    quien = ""  # who chose «Registrar de todos modos», when not the asesor herself
    if sol.riesgo_aceptado and sol.registrada_por_id and sol.registrada_por_id != sol.asesor_id:
        quien = sol.registrada_por.get_full_name() or sol.registrada_por.username
    return panel(
        sol.riesgo_banda,
        sol.riesgo_motivos,
        sol.riesgo_sugerencias,
        sol.riesgo,
        aceptado=sol.riesgo_aceptado,
        quien=quien,
    )


def porcentaje(valor, decimales=1):
    """0.125 -> "12,5 %" (None -> "—")."""
    if valor is None:
        return "—"
    return f"{valor * 100:.{decimales}f} %".replace(".", ",")


# --- what the registration form scores -----------------------------------------------------------
def datos_de_riesgo(params, user):
    """The registration's data that the score reads, from what was typed (a form's POST or the
    preview's GET), leniently: a value that does not fit is left out, never an error. The zone
    must be an active one; the asesor one the user may register for (by default, herself)."""
    datos = {c: (params.get(c) or "").strip()[:largo] for c, largo in LARGOS.items()}
    tipo = params.get("tipo") or ""
    datos["tipo"] = tipo if tipo in Solicitud.Tipo.values else ""
    zona = entero(params.get("zona"))
    datos["zona"] = Zona.objects.filter(activa=True, pk=zona).first() if zona is not None else None
    asesor = entero(params.get("asesor"))
    if asesor is not None:
        datos["asesor"] = selectors.asesores_registrables(user).filter(pk=asesor).first()
    else:
        datos["asesor"] = user if Rol.ASESOR in roles_de(user) else None
    return datos


@require_GET
@login_required
def previa(request):
    """GET /solicitudes/riesgo/?calle=…&caja_nap=…&zona=…&plan=…&tipo=…&asesor=…: the risk panel
    of the registration form for what is typed so far (htmx swaps it in while the asesor types).
    Nothing is written."""
    if not selectors.registra_solicitudes(request.user):
        return prohibido(request, "Su rol no registra solicitudes.")
    resultado = motor.vista_previa(datos_de_riesgo(request.GET, request.user))
    return render(request, "solicitudes/_riesgo.html", {"riesgo": panel_de_previa(resultado), "previa": True})


# --- evaluation (issue 19.4) ----------------------------------------------------------------------
def explicar(ev):
    """The evaluation's figures, each with the sentence that says what it means (Spanish that
    agrees: «1 solicitud», «3 solicitudes»)."""
    n, k = ev.get("solicitudes", 0), ev.get("problemas", 0)
    base = ev.get("tasa_base")
    decil = ev.get("decil_superior") or {}
    alto = ev.get("alto") or {}
    historia = ev.get("historia") or {}
    lift = (decil["tasa"] / base) if decil.get("tasa") is not None and base else None
    veces = f"{lift:.1f}".replace(".", ",") if lift is not None else "—"
    filas = [
        {
            "clave": "historia",
            "etiqueta": "Historial usado",
            "valor": f"{cuenta(historia.get('solicitudes', 0), 'solicitud', 'solicitudes')} · "
            f"{porcentaje(historia.get('tasa'))}",
            "explicacion": "Lo que el puntaje sabía: las solicitudes registradas antes del mes y la parte de ellas "
            "observada o anulada antes del mes (su tasa base).",
        },
        {
            "clave": "solicitudes",
            "etiqueta": "Solicitudes del mes",
            "valor": numero(n),
            "explicacion": "Las registradas en el mes, cada una puntuada como si se registrara entonces.",
        },
        {
            "clave": "tasa_base",
            "etiqueta": "Tasa base del mes",
            "valor": porcentaje(base),
            "explicacion": f"De {cuenta(n, 'solicitud', 'solicitudes')}, {numero(k)} "
            f"{palabra(k, 'fue observada o anulada', 'fueron observadas o anuladas')} antes de terminar el mes: "
            "la tasa de cualquier solicitud, sin mirar el puntaje.",
        },
        {
            "clave": "decil_superior",
            "etiqueta": "Decil superior",
            "valor": f"{porcentaje(decil.get('tasa'))} (×{veces} la tasa base)",
            "explicacion": f"Entre el 10 % de puntaje más alto ({cuenta(decil.get('n', 0), 'solicitud', 'solicitudes')}"
            f"), {numero(decil.get('problemas', 0))} "
            f"{palabra(decil.get('problemas', 0), 'tuvo', 'tuvieron')} problema: cuanto más supere a la tasa base, "
            "mejor separa el puntaje los casos difíciles.",
        },
        {
            "clave": "precision",
            "etiqueta": "Precisión en «Alto»",
            "valor": porcentaje(alto.get("precision")),
            "explicacion": f"De {cuenta(alto.get('n', 0), 'solicitud', 'solicitudes')} con riesgo «Alto», la parte "
            "que de verdad fue observada o anulada.",
        },
        {
            "clave": "recall",
            "etiqueta": "Cobertura (recall) en «Alto»",
            "valor": porcentaje(alto.get("recall")),
            "explicacion": "De todas las solicitudes del mes que fueron observadas o anuladas, la parte que tenía "
            "riesgo «Alto» al registrarse.",
        },
    ]
    bandas = [
        {
            **b,
            "texto": BANDAS.get(b.get("banda"), b.get("banda") or "Sin puntaje"),
            "riesgo_medio_texto": porcentaje(b.get("riesgo_medio")),
            "tasa_observada_texto": porcentaje(b.get("tasa_observada")),
        }
        for b in ev.get("bandas") or ()
    ]
    return filas, bandas


@require_GET
@login_required
def evaluacion(request):
    """/riesgo/evaluacion/?mes=AAAA-MM (GESTION_RED, JEFE_DIVISION): the scores the model would
    have given in that month with the data before it, against what happened by its end."""
    if not roles_de(request.user) & ROLES_RIESGO:
        return prohibido(request, "Solo Gestión de Red y el Jefe de División ven la evaluación del riesgo.")
    mes, error = selectors.mes_evaluado(request.GET.get("mes"))
    contexto = {"mes_texto": request.GET.get("mes", ""), "error": error, "por_defecto": selectors.ultimo_mes_completo()}
    if error:
        return render(request, "riesgo/evaluacion.html", contexto, status=400)
    ev = motor.evaluar_guardada(mes)
    filas, bandas = explicar(ev)
    contexto.update(
        mes=mes,
        mes_texto=f"{mes:%Y-%m}",
        ev=ev,
        filas=filas,
        bandas=bandas,
        en_curso=mes == timezone.localdate().replace(day=1),
        json_url=f"{reverse('api-riesgo-evaluacion')}?mes={mes:%Y-%m}",
        fin=_fin_de_mes(mes),
    )
    return render(request, "riesgo/evaluacion.html", contexto)


def _fin_de_mes(mes: date) -> date:
    return (mes.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
