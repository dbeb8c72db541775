"""docs/glosario.md's table "step → where it lives" (issue 16) names every transition under the seed
step(s) the machine declares for it, so a newcomer finds a step from its number alone; a transition
added, renamed or moved to another step fails here until the table says so."""

import re
from pathlib import Path

from anulaciones import transitions
from anulaciones.models import MAQUINAS, Entrega

GLOSARIO = Path(__file__).resolve().parent.parent / "docs" / "glosario.md"


def _filas_por_paso():
    texto = GLOSARIO.read_text(encoding="utf-8")
    tabla = texto.split("<!-- pasos:inicio -->", 1)[1].split("<!-- pasos:fin -->", 1)[0]
    filas = {}
    for linea in tabla.splitlines():
        celdas = [c.strip() for c in linea.strip().strip("|").split("|")]
        if len(celdas) > 4 and re.fullmatch(r"\d+(\.\d+)?", celdas[0]):
            filas[celdas[0]] = linea
    return filas


def _pasos(t):
    paso = t.custom.get("paso", "")
    valores = paso.values() if isinstance(paso, dict) else [paso]
    return {p for v in valores for p in re.findall(r"\d+(?:\.\d+)?", str(v))}


def test_cada_transicion_esta_en_la_fila_de_su_paso():
    filas = _filas_por_paso()
    assert len(filas) >= 30, "the step table is missing"
    faltan = []
    for modelo in (*MAQUINAS, Entrega):
        for nombre, t in transitions.transiciones(modelo).items():
            for paso in _pasos(t):
                if f"`{nombre}`" not in filas.get(paso, ""):
                    faltan.append(f"{modelo.__name__}.{nombre} (paso {paso})")
    assert not faltan, f"docs/glosario.md does not place: {', '.join(faltan)}"
