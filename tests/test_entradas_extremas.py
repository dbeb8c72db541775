"""Input at the edges never becomes a 500: far dates, non-numeric ids."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url,rol",
    [
        ("/tablero/?abierto_desde=9999-12-31&abierto_hasta=9999-12-31", "gestion_red"),
        ("/tablero/?abierto_el=0001-01-01", "gestion_red"),
        ("/indicador/?mes=9999-12", "jefe_division"),
        ("/indicador/?mes=0001-03", "jefe_division"),
        ("/indicador/?desde=0001-01-01&hasta=0001-02-01", "jefe_division"),
        ("/indicador/?desde=9999-01-01&hasta=9999-12-31", "jefe_division"),
        ("/api/v1/solicitudes/?hasta=9999-12-31", "gestion_red"),
        ("/api/v1/solicitudes/?desde=0001-01-01", "gestion_red"),
        ("/api/v1/indicador/?desde=9990-01-01&hasta=9999-12-31", "jefe_division"),
        ("/exportar/smartflex.csv?desde=9999-01-01&hasta=9999-12-31", "coc"),
    ],
)
def test_fechas_extremas_no_rompen_nada(client, u, url, rol):
    client.force_login(getattr(u, rol))
    r = client.get(url)
    assert r.status_code in (200, 400), (url, r.status_code)
    if r.status_code == 200 and r.get("Content-Type", "").startswith("text/csv"):
        b"".join(r.streaming_content)


def test_marcar_notificacion_con_id_no_numerico(client, u):
    client.force_login(u.asesor)
    r = client.post("/notificaciones/leer/", {"id": "abc"})
    assert r.status_code == 302


def test_resumen_del_jefe_coincide_con_el_indicador(client, u, esc):
    """A case saved by re-digitation (its first OT cancelled) is not anulado on the home page either;
    a case cancelled without observation is probable (procedure.md, III.2); same two decimals and
    provisional range as the report."""
    import re

    from anulaciones import transitions as T
    from anulaciones.reports import indicador as ind

    esc.solicitud("redigitada")  # saved, its new Solicitud still open
    esc.solicitud("anulada")  # never observed: probable from its cancellation
    s = esc.solicitud("observada")
    T.aplicar(s, "anular", u.coc, motivo="Sin cobertura", justificacion="El cliente desistió")
    client.force_login(u.jefe_division)
    html = client.get("/").content.decode()
    assert re.search(r'data-cuenta="probables">\s*3<', html)
    assert re.search(r'data-cuenta="anulados">\s*2<', html)
    assert "33,33 % · ✘ observado" in html
    assert "provisional: 1 caso abierto; entre 0,00 % y 33,33 %" in html
    total = ind.informe(ind.Periodo.actual())["total"]
    assert (total["probables"], total["anulados"], total["indicador"]["texto"]) == (3, 2, "33,33 %")
