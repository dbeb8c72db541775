"""A picture of each role's home, on a desktop and on a phone (issue 15, «Done means»), so that a
reviewer can look without running a server: ``make screenshots`` runs this test with
CAPTURAS_DIR=docs/capturas and it writes ``<rol>-escritorio.png`` (1280 px wide) and
``<rol>-telefono.png`` (390 px), full page, at a device scale factor of 1 (small files). Without
CAPTURAS_DIR it writes them to a temporary folder and checks them, so CI runs it too."""

import os
import struct
from pathlib import Path

import pytest

from .recorrido import ROLES, datos_demo

pytestmark = pytest.mark.django_db(transaction=True)

TAMANOS = {
    "escritorio": {"viewport": {"width": 1280, "height": 900}},
    "telefono": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def dimensiones_png(ruta):
    datos = ruta.read_bytes()[:24]
    assert datos[:8] == b"\x89PNG\r\n\x1a\n", f"{ruta} is not a PNG"
    return struct.unpack(">II", datos[16:24])


def test_captura_del_inicio_de_cada_rol_en_escritorio_y_telefono(esc, u, navegador, live_server, entrar, tmp_path):
    datos_demo(esc)
    carpeta = Path(os.environ.get("CAPTURAS_DIR") or tmp_path)
    carpeta.mkdir(parents=True, exist_ok=True)
    for tamano, opciones in TAMANOS.items():
        contexto = navegador.new_context(
            **opciones, device_scale_factor=1, locale="es-BO", timezone_id="America/La_Paz", base_url=live_server.url
        )
        try:
            for rol in ROLES:
                page = contexto.new_page()
                entrar(page, u.por_rol[rol])
                assert page.url.rstrip("/") == live_server.url  # its home
                page.locator("h1").first.wait_for()
                ruta = carpeta / f"{rol.lower()}-{tamano}.png"
                page.screenshot(path=str(ruta), full_page=True, animations="disabled", caret="hide")
                ancho, alto = dimensiones_png(ruta)
                assert ancho == opciones["viewport"]["width"] and alto >= opciones["viewport"]["height"], (
                    ruta,
                    ancho,
                    alto,
                )
                page.close()
                contexto.clear_cookies()  # the next role logs in afresh
        finally:
            contexto.close()
    esperadas = {f"{rol.lower()}-{t}.png" for rol in ROLES for t in TAMANOS}
    assert esperadas <= {p.name for p in carpeta.glob("*.png")}
