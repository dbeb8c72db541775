"""The Tablero's table and filter form are written in Python (``TableroTable.como_html``,
the widgets and renderer of ``filters``): what a user sees of them — sort links, pages, empty
text, chosen filters kept, errors of a bad filter, labels — stays as django-tables2 and
Django's templates wrote it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

FILA = re.compile(r'<tr class="(?:vencido )?(?:even|odd)" data-solicitud="([^"]+)"')


@pytest.fixture
def gr(client, u):
    client.force_login(u.gestion_red)
    return client


def test_cabeceras_ordenables_y_paginas(gr, esc, settings):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 2
    for _ in range(5):
        esc.servicio()
    html = gr.get("/tablero/?destinatario=ASESOR&page=2").content.decode()
    assert '<table class="tabla tablero" id="tabla-tablero">' in html
    # Sort links keep the filters; the current sort is marked on its header.
    assert '<a href="?destinatario=ASESOR&amp;page=2&amp;sort=numero">Solicitud</a>' in html
    assert re.search(
        r'<th class="asc orderable">\s*<a href="\?destinatario=ASESOR&amp;page=2&amp;sort=-vence">'
        r"Vence</a>",
        html,
    )
    assert re.search(r"<th\s*>\s*Observación\s*</th>", html)  # not sortable: no link
    # Pages: previous / numbers / next, in Spanish, keeping the filters.
    assert re.search(r'<li class="previous">\s*<a href="\?destinatario=ASESOR&amp;page=1">\s*anterior', html)
    assert re.search(r'<li class="active">\s*<a href="\?destinatario=ASESOR&amp;page=2">\s*2\s*</a>', html)
    assert re.search(r'<li class="next">\s*<a href="\?destinatario=ASESOR&amp;page=3">\s*siguiente', html)
    assert FILA.findall(html) and len(FILA.findall(html)) == 2
    assert re.search(r'<tr class="even" data-solicitud="[^"]+">', html)
    assert re.search(r'<tr class="odd" data-solicitud="[^"]+">', html)


def test_sin_filas_muestra_el_aviso(gr):
    html = gr.get("/tablero/").content.decode()
    assert '<td colspan="11">No hay Servicios de Ingeniería con estos filtros.</td>' in html
    assert '<ul class="pagination">' not in html


def test_el_formulario_conserva_los_filtros_elegidos(gr, esc, u, zonas):
    si = esc.servicio()
    html = gr.get(
        f"/tablero/?zona={zonas[0].pk}&estado=abierto&tipo=correccion&asesor={u.asesor.pk}&abierto_desde=2026-03-10"
    ).content.decode()
    assert si.solicitud.numero_smartflex in FILA.findall(html)
    assert '<label for="id_zona">Zona:</label>' in html and '<select name="zona" id="id_zona">' in html
    assert f'<option value="{zonas[0].pk}" selected>{zonas[0].nombre}</option>' in html
    assert f'<option value="{zonas[1].pk}">{zonas[1].nombre}</option>' in html
    nombre = u.asesor.get_full_name() or u.asesor.username
    assert f'<option value="{u.asesor.pk}" selected>{nombre}</option>' in html
    assert '<option value="correccion" selected>Corrección</option>' in html
    assert '<option value="" selected>Todos los abiertos</option>' in html
    assert (
        '<label for="id_estado_0"><input type="checkbox" name="estado" value="abierto" id="id_estado_0" checked>'
        in html
    )
    assert "<legend>Estado:</legend>" in html
    assert '<input type="date" name="abierto_desde" value="2026-03-10" id="id_abierto_desde">' in html


@pytest.mark.parametrize("valor", ["999999", "abc", "7.5"])
def test_zona_o_asesor_inexistente_es_un_error_del_filtro(gr, esc, valor):
    esc.servicio()
    for campo in ("zona", "asesor"):
        r = gr.get(f"/tablero/?{campo}={valor}")
        assert r.status_code == 200
        html = r.content.decode()
        assert f'<ul class="errorlist" id="id_{campo}_error"><li>Escoja una opción válida.' in html
        assert (
            f'<select name="{campo}" aria-invalid="true" aria-describedby="id_{campo}_error" id="id_{campo}">' in html
        )


def test_filtrar_por_zona_no_cuesta_consultas_de_mas(gr, esc, zonas):
    """The chosen zone is found among the options read for the form (no query of its own)."""
    esc.servicio()

    def consultas(url):
        with CaptureQueriesContext(connection) as ctx:
            assert gr.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert consultas(f"/tablero/?zona={zonas[0].pk}") == consultas("/tablero/")


def test_lo_que_escribieron_los_usuarios_se_muestra_como_texto(gr, esc, u):
    """Cells written in Python escape what users typed: the number, the asesor's name, the
    observation, the filters echoed in links."""
    from anulaciones import transitions as T

    u.asesor.first_name = '<b onmouseover="x()">Ana</b>'
    u.asesor.save()
    s = esc.solicitud(numero_smartflex='A"<i>x</i>')
    T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="<script>alert(1)</script>")
    T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja")
    html = gr.get("/tablero/", {"destinatario": "ASESOR", "x": '"><img src=x onerror=y()>'}).content.decode()
    assert "A&quot;&lt;i&gt;x&lt;/i&gt;" in html
    assert "&lt;b onmouseover=&quot;x()&quot;&gt;Ana&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "<b onmouseover" not in html and "<img src=x" not in html
    assert "<i>x</i>" not in html
