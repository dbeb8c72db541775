"""The risk score of a registration (issue 19), as pure arithmetic (base layer: no models, no services).

From the app's own history (``anulaciones.models.riesgo.FactorRiesgo``): for the whole company
the base rate ``p0`` (problems / Solicitudes), and for each factor of the new request (its
street, box/NAP, zone, asesor, plan, request type) how many Solicitudes ``n`` had it and how many
of those ``k`` were observed or cancelled.

- A factor's rate is smoothed towards the base rate (empirical Bayes, a Beta prior worth ``M``
  Solicitudes): ``r = (k + M·p0) / (n + M)``. A street seen once with a problem gets
  ``(1 + M·p0) / (1 + M)``, near ``p0``, not 100 %.
- Its contribution is how far that rate moves the odds: ``c = logit(r) − logit(p0)``.
- The factors overlap (a bad street is often in a bad zone), so their sum is damped:
  ``score = sigmoid(logit(p0) + ALFA·Σ c)``.
- Bands are relative to the base rate: Alto from ``ALTO·p0``, Medio from ``MEDIO·p0``, else Bajo.
- Reasons: the (up to) 3 factors that push the score up the most, with their counts; each has a
  suggestion of what would lower it.

``puntuar`` is the one entry: the registration path (``FactorRiesgo.puntuar``), the form's preview
and the monthly evaluation (``anulaciones.riesgo``) all score with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BAJO, MEDIO, ALTO = "bajo", "medio", "alto"
BANDAS = (BAJO, MEDIO, ALTO)
BANDA_TEXTO = {BAJO: "Bajo", MEDIO: "Medio", ALTO: "Alto", "": "Sin datos"}

# The factors of a Solicitud, in the order their reasons are preferred on equal weight.
CALLE, CAJA, ZONA, ASESOR, PLAN, TIPO = "calle", "caja", "zona", "asesor", "plan", "tipo"
FACTORES = (CALLE, CAJA, ZONA, ASESOR, PLAN, TIPO)
BASE = "base"
MAX_MOTIVOS = 3
# Probabilities are kept inside (ε, 1 − ε): a history with no problem at all (or only problems)
# would put the logit at ±∞.
EPSILON = 1e-6


def logit(p: float) -> float:
    p = min(max(p, EPSILON), 1 - EPSILON)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def suavizar(k: int, n: int, p0: float, prior: float) -> float:
    """The smoothed rate of a factor seen in ``n`` Solicitudes, ``k`` of them with a problem."""
    return (k + prior * p0) / (n + prior)


def banda(riesgo: float | None, p0: float, alto: float, medio: float) -> str:
    """'alto' / 'medio' / 'bajo' relative to the base rate ``p0``; '' without a score."""
    if riesgo is None:
        return ""
    if p0 <= 0:
        return BAJO  # no problem ever recorded: nothing is riskier than the rest
    if riesgo >= alto * p0:
        return ALTO
    if riesgo >= medio * p0:
        return MEDIO
    return BAJO


@dataclass(frozen=True)
class Motivo:
    """One factor's part in a score: what it is, its counts and how much it weighs (logit units)."""

    factor: str
    clave_texto: str
    n: int
    k: int
    tasa: float  # k / n, as observed
    peso: float  # logit(smoothed rate) − logit(p0)

    def como_dict(self) -> dict[str, object]:
        return {
            "factor": self.factor,
            "clave_texto": self.clave_texto,
            "n": self.n,
            "k": self.k,
            "tasa": self.tasa,
            "peso": self.peso,
        }


@dataclass
class Puntaje:
    riesgo: float | None
    banda: str
    p0: float | None
    motivos: list[Motivo] = field(default_factory=list)  # the top ones, heaviest first
    sugerencias: list[str] = field(default_factory=list)

    @property
    def banda_texto(self) -> str:
        return BANDA_TEXTO[self.banda]

    def motivos_guardados(self) -> list[dict[str, object]]:
        """What ``Solicitud.riesgo_motivos`` stores: {"texto", "factor", "peso"} per reason."""
        return [{"texto": texto_motivo(m), "factor": m.factor, "peso": round(m.peso, 3)} for m in self.motivos]


def puntuar(
    base: tuple[int, int] | None,
    factores: dict[str, tuple[str, tuple[int, int] | None]],
    *,
    prior: float,
    alfa: float,
    alto: float,
    medio: float,
    caja_vacia: bool = False,
) -> Puntaje:
    """Score one Solicitud.

    ``base``: (total, problemas) of the whole history, or None (no history). ``factores``:
    {factor: (text naming its value, (n, k) of its aggregate or None when never seen)}, only
    the factors the Solicitud has (an empty box/NAP or plan is no factor). ``caja_vacia``: the
    box/NAP was left empty (its suggestion). No history, or none with a problem yet: no score
    (``riesgo`` None, banda '')."""
    if base is None or base[0] <= 0 or base[1] <= 0:
        return Puntaje(riesgo=None, banda="", p0=None)  # nothing to learn from yet
    total, problemas = base
    p0 = problemas / total
    motivos: list[Motivo] = []
    suma = 0.0
    for f in FACTORES:
        if f not in factores:
            continue
        texto, agregado = factores[f]
        if not agregado or agregado[0] <= 0:
            continue  # never seen: its rate is the base rate, it weighs nothing
        n, k = agregado
        peso = logit(suavizar(k, n, p0, prior)) - logit(p0)
        suma += peso
        motivos.append(Motivo(f, texto, n, k, k / n, peso))
    riesgo = sigmoid(logit(p0) + alfa * suma)
    b = banda(riesgo, p0, alto, medio)
    arriba = sorted((m for m in motivos if m.peso > 0), key=lambda m: (-m.peso, FACTORES.index(m.factor)))
    puntaje = Puntaje(riesgo=round(riesgo, 4), banda=b, p0=p0, motivos=arriba[:MAX_MOTIVOS])
    puntaje.sugerencias = sugerencias(puntaje.motivos, b, caja_vacia)
    return puntaje


# --- texts (Spanish: what the asesor reads) ---------------------------------------------------
def _solicitudes(n: int) -> str:
    return "solicitud" if n == 1 else "solicitudes"


def texto_motivo(m: Motivo) -> str:
    """«la calle «Av. Arce» fue observada o anulada en 6 de 9 solicitudes»."""
    cuenta = f"{m.k} de {m.n} {_solicitudes(m.n)}"
    observadas = "observada o anulada" if m.k == 1 else "observadas o anuladas"
    t = m.clave_texto
    if m.factor == CALLE:
        return f"la calle «{t}» fue observada o anulada en {cuenta}"
    if m.factor == CAJA:
        return f"la caja «{t}» fue observada o anulada en {cuenta}"
    if m.factor == ZONA:
        return f"la zona {t}: {observadas} {cuenta}"
    if m.factor == ASESOR:
        return f"el asesor {t}: {observadas} {cuenta}"
    if m.factor == PLAN:
        return f"el plan «{t}»: {observadas} {cuenta}"
    if m.factor == TIPO:
        return f"las solicitudes de tipo {t}: {observadas} {cuenta}"
    return f"{m.factor} «{t}»: {observadas} {cuenta}"


SUGERENCIA_CAJA_VACIA = "agregue la caja/NAP más cercana"


def sugerencia(m: Motivo) -> str:
    """What would lower the weight of one reason."""
    if m.factor == CALLE:
        return "confirme la dirección con el cliente y agregue una referencia"
    if m.factor == CAJA:
        return f"verifique que la caja «{m.clave_texto}» corresponde a la zona"
    if m.factor == ZONA:
        return "confirme con el cliente la dirección exacta y una referencia visible en la zona"
    if m.factor == ASESOR:
        return "revise los datos con su Team Leader"
    if m.factor == PLAN:
        return f"confirme con el cliente el plan «{m.clave_texto}» y que esté disponible en su zona"
    if m.factor == TIPO:
        return f"revise los datos propios de una solicitud de tipo {m.clave_texto}"
    return "revise los datos con el cliente"


def sugerencias(motivos: list[Motivo], b: str, caja_vacia: bool) -> list[str]:
    """For a Medio or Alto score: the empty box/NAP first, then one per reason (no repeats)."""
    if b not in (MEDIO, ALTO):
        return []
    textos = [SUGERENCIA_CAJA_VACIA] if caja_vacia else []
    for m in motivos:
        s = sugerencia(m)
        if s not in textos:
            textos.append(s)
    return textos[:MAX_MOTIVOS]
