"""The 12-month trend of the indicator as a server-rendered SVG (no script, no CDN).

Readable without colour: every month carries its value as text; a month above the threshold
is a solid bar with a circle marker, one at or below it a hatched bar with a triangle marker;
the threshold is a dashed line labelled with its value; a month without cases says "s/c".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape

ANCHO, ALTO = 760, 300
IZQ, DER, ARRIBA, ABAJO = 48, 16, 24, 56


def _num(v: float) -> str:
    """Two decimals, as the indicator itself (its value is already rounded toward the verdict)."""
    return f"{v:.2f}".replace(".", ",")


def _umbral(v: float) -> str:
    return f"{v:g}".replace(".", ",")


def tendencia_svg(
    filas: Sequence[dict[str, Any]], umbral: float, titulo: str = "Indicador de los últimos 12 meses"
) -> str:
    """``filas``: [{'etiqueta', 'indicador': {'valor', 'veredicto'}, 'probables'}] oldest first."""
    valores = [f["indicador"]["valor"] for f in filas if f["indicador"]["valor"] is not None]
    minimo = min(valores + [umbral])
    piso = max(0, int(minimo // 5) * 5 - 5)  # the axis starts a bit below the lowest value
    alto_util = ALTO - ARRIBA - ABAJO
    ancho_util = ANCHO - IZQ - DER
    paso = ancho_util / max(len(filas), 1)

    def y(v: float) -> float:
        return ARRIBA + alto_util * (100 - v) / (100 - piso)

    resumen = "; ".join(
        f"{f['etiqueta']}: "
        f"{_num(f['indicador']['valor']) + ' %' if f['indicador']['valor'] is not None else 'sin casos'}"
        for f in filas
    )
    partes = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {ANCHO} {ALTO}" role="img" '
        f'aria-labelledby="tend-titulo tend-desc" class="tendencia" font-family="sans-serif" font-size="12">',
        f'<title id="tend-titulo">{escape(titulo)}</title>',
        f'<desc id="tend-desc">Umbral {_umbral(umbral)} %. {escape(resumen)}</desc>',
        '<defs><pattern id="rayado" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#333" stroke-width="3"/></pattern></defs>',
    ]
    # Axis and grid every 5 points.
    for v in range(piso, 101, 5):
        partes.append(f'<line x1="{IZQ}" x2="{ANCHO - DER}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        partes.append(f'<text x="{IZQ - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v} %</text>')
    partes.append(f'<line x1="{IZQ}" x2="{IZQ}" y1="{ARRIBA}" y2="{ALTO - ABAJO}" stroke="#333"/>')
    partes.append(f'<line x1="{IZQ}" x2="{ANCHO - DER}" y1="{ALTO - ABAJO}" y2="{ALTO - ABAJO}" stroke="#333"/>')
    for i, f in enumerate(filas):
        cx = IZQ + paso * i + paso / 2
        v, veredicto = f["indicador"]["valor"], f["indicador"]["veredicto"]
        partes.append(f'<text x="{cx:.1f}" y="{ALTO - ABAJO + 16}" text-anchor="middle">{escape(f["etiqueta"])}</text>')
        partes.append(
            f'<text x="{cx:.1f}" y="{ALTO - ABAJO + 32}" text-anchor="middle" fill="#555">n={f["probables"]}</text>'
        )
        if v is None:
            partes.append(
                f'<text x="{cx:.1f}" y="{ALTO - ABAJO - 6}" text-anchor="middle" class="sin-casos">s/c</text>'
            )
            continue
        ancho = paso * 0.6
        alto = (ALTO - ABAJO) - y(v)
        relleno = 'fill="#2e6da4"' if veredicto == "aceptado" else 'fill="url(#rayado)" stroke="#333"'
        partes.append(
            f'<rect class="barra {veredicto}" x="{cx - ancho / 2:.1f}" y="{y(v):.1f}" '
            f'width="{ancho:.1f}" height="{max(alto, 0):.1f}" {relleno}>'
            f"<title>{escape(f['etiqueta'])}: {_num(v)} % ({veredicto})</title></rect>"
        )
        if veredicto == "aceptado":
            marca = f'<circle cx="{cx:.1f}" cy="{y(v):.1f}" r="5" fill="#fff" stroke="#000" stroke-width="2"/>'
        else:
            marca = (
                f'<polygon points="{cx:.1f},{y(v) - 6:.1f} {cx - 6:.1f},{y(v) + 5:.1f} '
                f'{cx + 6:.1f},{y(v) + 5:.1f}" fill="#fff" stroke="#000" stroke-width="2"/>'
            )
        partes.append(marca)
        partes.append(f'<text x="{cx:.1f}" y="{y(v) - 9:.1f}" text-anchor="middle" font-weight="bold">{_num(v)}</text>')
    yu = y(umbral)
    partes.append(
        f'<line class="umbral" x1="{IZQ}" x2="{ANCHO - DER}" y1="{yu:.1f}" y2="{yu:.1f}" '
        f'stroke="#b00" stroke-width="2" stroke-dasharray="8 4"/>'
    )
    partes.append(
        f'<text x="{ANCHO - DER}" y="{yu - 4:.1f}" text-anchor="end" fill="#b00">Umbral {_umbral(umbral)} %</text>'
    )
    # Legend (shapes, not colours).
    ly = ALTO - 8
    partes.append(
        f'<circle cx="{IZQ + 6}" cy="{ly - 4}" r="5" fill="#fff" stroke="#000" stroke-width="2"/>'
        f'<text x="{IZQ + 16}" y="{ly}">aceptado (barra lisa)</text>'
    )
    partes.append(
        f'<polygon points="{IZQ + 186},{ly - 10} {IZQ + 180},{ly + 1} {IZQ + 192},{ly + 1}" '
        f'fill="#fff" stroke="#000" stroke-width="2"/>'
        f'<text x="{IZQ + 200}" y="{ly}">observado (barra rayada)</text>'
    )
    partes.append(f'<text x="{IZQ + 380}" y="{ly}">s/c: sin casos · n: casos probables</text>')
    partes.append("</svg>")
    return "".join(partes)
