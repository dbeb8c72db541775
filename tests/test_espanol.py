"""Spanish done right (issue 15.9): a count and its noun agree («1 caso», «3 casos», never
«caso(s)»), numbers grouped as written here («12.345»), an OT named with its prefix once
(«OT-2609-00001», not «OT OT-2609-00001»), and the Tablero's «Atendidos hoy» tells when each SI
was answered, on the page and in its exports."""

import csv
import io
import re
import tokenize
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone

from anulaciones import espanol, relato
from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, RegistroAuditoria

RAIZ = Path(__file__).resolve().parent.parent
# «caso(s)», «zonificación(es)», «digitada(s)»: a plural in brackets.
PLURAL_ENTRE_PARENTESIS = re.compile(r"[a-záéíóúñ]\((?:s|es|as|os)\)", re.IGNORECASE)
# Misspellings once on the pages: «zonificaciónes», «59 ordenes» (órdenes), «Ordenes».
ERRATAS = re.compile(r"ciónes\b|\d ordenes\b|\bOrdenes\b")


def test_cuenta_concuerda_con_el_numero():
    assert [espanol.cuenta(n, "caso", "casos") for n in (0, 1, 2, 1234, 1234567)] == [
        "0 casos",
        "1 caso",
        "2 casos",
        "1.234 casos",
        "1.234.567 casos",
    ]
    plantilla = Template(
        '{% load espanol %}{{ n|cuenta:"zonificación digitada,zonificaciones digitadas" }}; '
        '{{ n|plural:"Falta,Faltan" }} {{ d|cuenta:"día hábil,días hábiles" }}; {{ g|numero }}'
    )
    assert (
        plantilla.render(Context({"n": 1, "d": 3, "g": 12345}))
        == "1 zonificación digitada; Falta 3 días hábiles; 12.345"
    )
    assert plantilla.render(Context({"n": 2, "d": 1, "g": 7})) == "2 zonificaciones digitadas; Faltan 1 día hábil; 7"


TEXTO = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}  # f-strings: Python ≥ 3.12


def _textos_python(ruta):
    """The string literals of a module, but its docstrings (English, for developers)."""
    previo = None
    with open(ruta, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type in TEXTO and previo not in (tokenize.INDENT, tokenize.NEWLINE, tokenize.ENCODING):
                yield tok.start[0], tok.string
            if tok.type not in (tokenize.NL, tokenize.COMMENT):
                previo = tok.type


def test_ningun_texto_con_plural_entre_parentesis_ni_erratas():
    """Every text a person reads — templates (pages, notices, e-mails) and the strings of the
    Python code (messages, exports) — writes its plurals out and spells «órdenes», «zonificaciones»."""
    hallados = []
    for ruta in sorted((RAIZ / "templates").rglob("*")):
        if ruta.suffix in (".html", ".txt"):
            for n, linea in enumerate(ruta.read_text().splitlines(), 1):
                texto = re.sub(r"{#.*?#}", "", linea)
                if PLURAL_ENTRE_PARENTESIS.search(texto) or ERRATAS.search(texto):
                    hallados.append(f"{ruta.relative_to(RAIZ)}:{n}: {linea.strip()}")
    for ruta in sorted((RAIZ / "anulaciones").rglob("*.py")):
        if "migrations" in ruta.parts:
            continue
        for n, texto in _textos_python(ruta):
            if PLURAL_ENTRE_PARENTESIS.search(texto) or ERRATAS.search(texto):
                hallados.append(f"{ruta.relative_to(RAIZ)}:{n}: {texto}")
    assert not hallados, "\n".join(hallados)


@pytest.mark.django_db
def test_la_ot_se_nombra_con_su_prefijo_una_vez(esc, u):
    o = esc.orden("generada")
    assert o.numero.startswith("OT-") and str(o) == o.numero  # «OT-SF-000001», not «OT OT-SF-000001»
    assert OrdenDeTrabajo.nombre("260900001") == "OT 260900001"  # a bare number gets the prefix
    z = esc.zonificacion("recibida")
    assert str(z) == f"Zonificación {z.pk} de la {z.orden.numero}"
    # The audit rows written in bulk (SQL) name them as __str__ does.
    for obj in (o, z):
        expr = type(obj).NOMBRE.expresion()
        assert type(obj).objects.annotate(t=expr).get(pk=obj.pk).t == str(obj)
    o.numero = "260900001"
    o.save(update_fields=["numero"])
    expr = OrdenDeTrabajo.NOMBRE.expresion()
    assert OrdenDeTrabajo.objects.annotate(t=expr).get(pk=o.pk).t == "OT 260900001" == str(o)
    # A row written before this change («OT OT-…») reads with the prefix once in the timeline.
    viejo = RegistroAuditoria.de_objeto(z.orden).first()
    viejo.objeto = f"OT {z.orden.numero}"
    assert relato.nombrar(viejo, OrdenDeTrabajo) == f"la {z.orden.numero}"


@pytest.mark.django_db(transaction=True)
def test_textos_en_el_navegador(esc, u, pagina, entrar, settings, tmp_path):
    """In the browser: the técnico's OT without a doubled prefix; the deliveries page counts its
    zonification in the singular; the Tablero's «Atendidos hoy» shows when each SI was answered
    (and its CSV export too), not a time remaining."""
    settings.MEDIA_ROOT = tmp_path
    p = pagina
    ot = esc.orden("asignada")
    entrar(p, u.tecnico)
    cola = p.locator("#cola-tecnico").inner_text()
    assert ot.numero in cola and "OT OT" not in cola
    p.goto(f"/ordenes/{ot.pk}/")
    assert "OT OT" not in p.locator("main").inner_text() and ot.numero in p.locator("h1").inner_text()
    p.context.clear_cookies()

    z = esc.zonificacion("recibida")
    T.aplicar(z, "digitar", u.gestion_red)
    si = esc.servicio("atendido")
    si.refresh_from_db()
    entrar(p, u.gestion_red)
    p.goto("/entregas/")
    pendientes = p.locator("#pendientes-mes").inner_text()
    assert "1 zonificación digitada aún en ninguna entrega" in pendientes and "(es)" not in pendientes

    p.goto("/tablero/?vista=atendidos_hoy")
    cabeceras = p.locator("#tabla-tablero thead th").all_inner_texts()
    assert "Atendido" in cabeceras and "Tiempo restante" not in cabeceras
    fila = p.locator(f'#tabla-tablero tr[data-solicitud="{si.solicitud.numero_smartflex}"]')
    cerrado = f"{timezone.localtime(si.cerrado_at):%d/%m/%Y %H:%M}"
    assert fila.locator("td").nth(cabeceras.index("Atendido")).inner_text() == cerrado
    assert "1 Servicio de Ingeniería ·" in p.locator(".actualizado").inner_text()
    p.goto("/tablero/")  # the open ones keep their time remaining
    cabeceras = p.locator("#tabla-tablero thead th").all_inner_texts()
    assert "Tiempo restante" in cabeceras and "Atendido" not in cabeceras

    respuesta = p.request.get("/tablero/export.csv?vista=atendidos_hoy")
    filas = list(csv.reader(io.StringIO(respuesta.text().lstrip("\ufeff"))))
    assert "Atendido" in filas[0] and "Tiempo restante" not in filas[0]
    assert filas[1][filas[0].index("Atendido")] == cerrado
