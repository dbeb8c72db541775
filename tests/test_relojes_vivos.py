"""The dead man's switch on the clocks (issue 20.2): stop the beat under time travel and watch the
banner appear and clear, /salud/listo fail and recover, and the staff e-mailed once per outage."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import operacion, tasks
from anulaciones.models import EjecucionPeriodica

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
BANNER = 'class="relojes-atrasados"'


def local(*args):
    return datetime(*args, tzinfo=LP)


@pytest.fixture
def staff(django_user_model):
    django_user_model.objects.create_user("sin_correo", "", "x", is_staff=True)  # no address: not mailed
    return django_user_model.objects.create_user("operador", "operador@example.com", "x", is_staff=True)


@pytest.fixture
def intervalos(settings):
    settings.CELERY_BEAT_SCHEDULE = {
        "barrer-plazos": {"task": "anulaciones.tasks.barrer_plazos", "schedule": 60.0},
        "entrega-mensual": {"task": "anulaciones.tasks.entrega_mensual", "schedule": 3600.0},
        "recuperar-pendientes": {"task": "anulaciones.tasks.recuperar", "schedule": 120.0},
    }
    return settings


def _correr(tarea, cuando):
    with time_machine.travel(cuando, tick=False):
        tarea.delay()  # eager in the test profile: the task as the worker runs it


def _paginas(client, u, cuando):
    """The banner on the Tablero and on Gestión de Red's home, and /salud/listo's answer."""
    with time_machine.travel(cuando, tick=False):
        client.force_login(u.gestion_red)
        tablero = client.get("/tablero/").content.decode()
        inicio = client.get("/").content.decode()
        client.logout()
        listo = client.get("/salud/listo")
    return tablero, inicio, listo


def test_registra_inicio_fin_y_duracion_de_cada_tarea_periodica(intervalos):
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 42))
    _correr(tasks.recuperar, local(2026, 11, 27, 10, 43))
    barrido = EjecucionPeriodica.objects.get(nombre="anulaciones.tasks.barrer_plazos")
    assert barrido.iniciada_at == barrido.terminada_at == local(2026, 11, 27, 10, 42)
    assert barrido.duracion is not None and barrido.duracion >= 0 and barrido.fallida_at is None
    assert EjecucionPeriodica.objects.get(nombre="anulaciones.tasks.recuperar").terminada_at == local(
        2026, 11, 27, 10, 43
    )


def test_una_falla_se_registra_y_no_cuenta_como_terminada(intervalos, monkeypatch):
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 42))

    def falla(ahora=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(tasks, "barrer", falla)
    with pytest.raises(RuntimeError), time_machine.travel(local(2026, 11, 27, 10, 43), tick=False):
        tasks.barrer_plazos()
    fila = EjecucionPeriodica.objects.get(nombre="anulaciones.tasks.barrer_plazos")
    assert fila.fallida_at == fila.iniciada_at == local(2026, 11, 27, 10, 43)
    assert fila.terminada_at == local(2026, 11, 27, 10, 42)


def test_beat_detenido_banner_degradado_un_correo_y_se_recupera(client, u, staff, intervalos):
    _correr(tasks.entrega_mensual, local(2026, 11, 27, 10, 30))
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 42))

    # Within 3 intervals (3 minutes): nothing to say.
    tablero, inicio, listo = _paginas(client, u, local(2026, 11, 27, 10, 44, 59))
    assert BANNER not in tablero and BANNER not in inicio
    assert listo.status_code == 200, listo.json()

    # The beat stopped: past 3 intervals the banner is on both pages, the probe reports «relojes»
    # (degraded, still 200: no web process can fix a stopped beat, the site must keep serving).
    for minuto in (46, 50, 59):
        tablero, inicio, listo = _paginas(client, u, local(2026, 11, 27, 10, minuto))
        for pagina in (tablero, inicio):
            assert BANNER in pagina
            assert "Los plazos no se están actualizando desde las 10:42" in pagina
        assert listo.status_code == 200
        assert listo.json()["estado"] == "degradado"
        assert listo.json()["comprobaciones"]["relojes"] == "fallo"
        assert listo.json()["comprobaciones"]["base_de_datos"] == "ok"
    # One e-mail for the outage, however many requests saw it, to the staff with an address.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["operador@example.com"]
    assert "Los plazos no se están actualizando desde las 10:42" in mail.outbox[0].body

    # Another day: the date is said too.
    tablero, _, _ = _paginas(client, u, local(2026, 11, 28, 9, 0))
    assert "Los plazos no se están actualizando desde el 27/11 10:42" in tablero
    assert "La revisión de entregas de fin de mes no se ha ejecutado hoy (última: el 27/11 10:30)" in tablero
    assert len(mail.outbox) == 2  # the month-end check is a new late clock: its own e-mail

    # The beat is back: the banner clears and the probe passes.
    _correr(tasks.barrer_plazos, local(2026, 11, 28, 9, 1))
    _correr(tasks.entrega_mensual, local(2026, 11, 28, 9, 1))
    tablero, inicio, listo = _paginas(client, u, local(2026, 11, 28, 9, 2))
    assert BANNER not in tablero and BANNER not in inicio
    assert listo.status_code == 200, listo.json()
    assert not EjecucionPeriodica.objects.filter(avisada_at__isnull=False).exists()

    # A new outage after the recovery is e-mailed again, once.
    for minuto in (10, 11):
        _paginas(client, u, local(2026, 11, 28, 9, minuto))
    assert len(mail.outbox) == 3


def test_el_banner_solo_en_el_tablero_y_el_inicio_de_gestion_de_red(client, u, intervalos):
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 42))
    with time_machine.travel(local(2026, 11, 27, 11, 0), tick=False):
        client.force_login(u.asesor)
        assert BANNER not in client.get("/").content.decode()  # not Gestión de Red
        client.force_login(u.gestion_red)
        with CaptureQueriesContext(connection) as consultas:
            assert BANNER not in client.get("/solicitudes/").content.decode()
        assert not any("ejecucionperiodica" in q["sql"] for q in consultas.captured_queries)
        with CaptureQueriesContext(connection) as consultas:
            assert BANNER in client.get("/tablero/").content.decode()
        # Once per request (the e-mail's claim aside: nobody to mail here).
        lecturas = [q for q in consultas.captured_queries if q["sql"].startswith("SELECT")]
        assert sum("ejecucionperiodica" in q["sql"] for q in lecturas) == 2  # the list + the claim's check


def test_instalacion_nueva_sin_beat_no_alarma(client, u, intervalos):
    assert operacion.relojes_atrasados(local(2026, 11, 27, 10, 0)) == []
    _, _, listo = _paginas(client, u, local(2026, 11, 27, 10, 0))
    assert listo.json()["comprobaciones"]["relojes"] == "ok"


def test_un_reloj_que_nunca_corrio_cuando_el_beat_si(intervalos):
    _correr(tasks.recuperar, local(2026, 11, 27, 10, 0))
    assert operacion.relojes_atrasados(local(2026, 11, 27, 10, 2)) == []
    atrasados = operacion.relojes_atrasados(local(2026, 11, 27, 10, 3, 1))
    assert [(a["nombre"], a["desde"]) for a in atrasados] == [("anulaciones.tasks.barrer_plazos", None)]
    assert "no ha terminado nunca" in atrasados[0]["motivo"]
    # The month-end check: 2 of its intervals after the beat's first run.
    assert len(operacion.relojes_atrasados(local(2026, 11, 27, 12, 0, 1))) == 2


def test_la_revision_de_entregas_debe_correr_cada_dia(intervalos):
    _correr(tasks.entrega_mensual, local(2026, 11, 27, 23, 30))
    for minuto in (0, 30, 58):  # the sweep keeps running
        _correr(tasks.barrer_plazos, local(2026, 11, 28, 1, minuto))
    assert operacion.relojes_atrasados(local(2026, 11, 28, 1, 59)) == []  # 2 hourly chances after midnight
    atrasados = operacion.relojes_atrasados(local(2026, 11, 28, 2, 0, 1))
    assert [a["nombre"] for a in atrasados] == ["anulaciones.tasks.entrega_mensual"]
    assert atrasados[0]["desde"] == local(2026, 11, 27, 23, 30)


def test_el_umbral_sigue_el_intervalo_configurado(intervalos):
    intervalos.CELERY_BEAT_SCHEDULE["barrer-plazos"]["schedule"] = timedelta(minutes=5)
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 0))
    _correr(tasks.entrega_mensual, local(2026, 11, 27, 10, 0))
    assert operacion.relojes_atrasados(local(2026, 11, 27, 10, 15)) == []
    assert len(operacion.relojes_atrasados(local(2026, 11, 27, 10, 15, 1))) == 1


def test_el_tablero_abierto_ve_el_aviso_en_su_refresco(client, u, staff, intervalos):
    """Gestión de Red keeps the Tablero open all day: its 30-second htmx refresh brings the banner
    in when the clocks stop, and takes it away when they run again; the full page shows it once."""
    _correr(tasks.entrega_mensual, local(2026, 11, 27, 10, 30))
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 42))
    client.force_login(u.gestion_red)

    def refresco(cuando):
        with time_machine.travel(cuando, tick=False):
            return client.get("/tablero/", HTTP_HX_REQUEST="true").content.decode()

    assert BANNER not in refresco(local(2026, 11, 27, 10, 44))
    fragmento = refresco(local(2026, 11, 27, 10, 50))
    assert BANNER in fragmento and "Los plazos no se están actualizando desde las 10:42" in fragmento
    with time_machine.travel(local(2026, 11, 27, 10, 50), tick=False):
        assert client.get("/tablero/").content.decode().count(BANNER) == 1
    _correr(tasks.barrer_plazos, local(2026, 11, 27, 10, 51))
    assert BANNER not in refresco(local(2026, 11, 27, 10, 52))
