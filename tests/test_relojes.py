"""The procedure's clocks (4.2, 5.2, 19.2): the working calendar, the same-day sweep, the
warning one hour before, the 2-hour re-digitation and its escalation — with time travel."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from anulaciones import entregas as reports
from anulaciones import tasks
from anulaciones import transitions as T
from anulaciones.models import Feriado, Notificacion, RegistroAuditoria, ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")


def local(*args):
    return datetime(*args, tzinfo=LP)


@pytest.fixture
def calendario(settings):
    """Monday to Friday, 08:00 to 18:00; an SI needs an hour of working time to be due the same day."""
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-18:00"
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_REDIGITACION_HORAS = 2
    settings.ANULACIONES_REDIGITACION_MODO = "habil"
    settings.ANULACIONES_FERIADOS = []
    settings.ANULACIONES_AVISO_MINUTOS = 60
    return settings


def abrir_si(esc, cuando, destinatario="ASESOR"):
    with time_machine.travel(cuando, tick=False):
        return esc.servicio("abierto", destinatario=destinatario)


def barrer(cuando, capturar):
    with time_machine.travel(cuando, tick=False), capturar(execute=True):
        return tasks.barrer()


# --- the calendar: vence_at stored when the SI is opened -------------------------------------
@pytest.mark.parametrize(
    "abierto, vence",
    [
        (local(2026, 11, 25, 9, 0), local(2026, 11, 25, 18, 0)),  # Wednesday morning: same day
        (local(2026, 11, 25, 7, 0), local(2026, 11, 25, 18, 0)),  # before the day starts: that day
        (local(2026, 11, 25, 17, 0), local(2026, 11, 25, 18, 0)),  # the minimum hour left: still today
        (local(2026, 11, 25, 17, 0, 1), local(2026, 11, 26, 18, 0)),  # less than an hour left: next day
        (local(2026, 11, 25, 17, 59, 59), local(2026, 11, 26, 18, 0)),  # just before the end: next day
        (local(2026, 11, 25, 18, 0, 0), local(2026, 11, 26, 18, 0)),  # at the end: next working day
        (local(2026, 11, 25, 18, 0, 1), local(2026, 11, 26, 18, 0)),  # after it: next working day
        (local(2026, 11, 27, 19, 30), local(2026, 11, 30, 18, 0)),  # Friday evening -> Monday
        (local(2026, 11, 28, 10, 0), local(2026, 11, 30, 18, 0)),  # Saturday -> Monday
    ],
)
def test_vence_at_sigue_el_calendario(esc, calendario, abierto, vence):
    si = abrir_si(esc, abierto)
    assert si.vence_at == vence


def test_feriado_del_admin_y_de_settings_se_saltan(esc, calendario):
    Feriado.objects.create(fecha="2026-11-26", nombre="Feriado de prueba")
    calendario.ANULACIONES_FERIADOS = ["2026-11-27"]
    si = abrir_si(esc, local(2026, 11, 25, 20, 0))  # Wed after the cut-off; Thu and Fri are holidays
    assert si.vence_at == local(2026, 11, 30, 18, 0)


def test_horario_por_defecto_en_la_paz(esc, settings):
    """Default hours (Monday to Friday 08:00-20:00, Saturday 08:00-13:00) in La Paz time."""
    si = abrir_si(esc, local(2026, 11, 25, 23, 30))  # Wednesday night: Thursday's end
    assert si.vence_at == local(2026, 11, 26, 20, 0)
    assert abrir_si(esc, local(2026, 11, 28, 9, 0)).vence_at == local(2026, 11, 28, 13, 0)  # Saturday morning
    assert abrir_si(esc, local(2026, 11, 28, 12, 30)).vence_at == local(2026, 11, 30, 20, 0)  # Saturday, too late


# --- same-day closure: the sweep ---------------------------------------------------------------
def test_barrido_vence_al_pasar_el_corte_y_audita_como_sistema(esc, u, calendario, django_capture_on_commit_callbacks):
    u.asesor.email = "asesor@example.com"
    u.asesor.save()
    si = abrir_si(esc, local(2026, 11, 25, 9, 0))
    # the new SI's notice was written with it, and is mailed by the outbox
    assert Notificacion.objects.filter(usuario=u.asesor, tipo="nuevo_si", clave=f"servicio:{si.pk}").count() == 1
    tasks.enviar_correos.run()
    assert [m.subject for m in mail.outbox] == [
        f"Nuevo SI {si.pk} (corrección): solicitud {si.solicitud.numero_smartflex}"
    ]
    mail.outbox.clear()
    assert barrer(local(2026, 11, 25, 17, 59, 59), django_capture_on_commit_callbacks)["vencidos"] == 0
    si.refresh_from_db()
    assert si.estado == "abierto"

    assert barrer(local(2026, 11, 25, 18, 0, 1), django_capture_on_commit_callbacks)["vencidos"] == 1
    si.refresh_from_db()
    assert si.estado == "vencido"
    assert si.version == 1
    fila = RegistroAuditoria.de_objeto(si).last()
    assert (fila.transicion, fila.estado_origen, fila.estado_destino, fila.usuario, fila.rol, fila.paso) == (
        "vencer",
        "abierto",
        "vencido",
        u.sistema,
        "SISTEMA",
        "5.2",
    )
    assert fila.caso_id == si.solicitud.caso_id
    # notified: the destinatario (the SI's asesor) and Gestión de Red, in the app and by e-mail
    assert Notificacion.objects.filter(usuario=u.asesor, tipo="vencido", clave=f"servicio:{si.pk}").count() == 1
    assert Notificacion.objects.filter(usuario=u.gestion_red, tipo="vencido").count() == 1
    # (the first sweep, one second before the cut-off, had sent the 1-hour warning)
    assert [m.to for m in mail.outbox] == [["asesor@example.com"]] * 2
    assert "vence a las 18:00" in mail.outbox[0].subject and "vencido" in mail.outbox[1].subject

    # twice: nothing changes the second time
    antes = (RegistroAuditoria.objects.count(), Notificacion.objects.count(), len(mail.outbox))
    assert barrer(local(2026, 11, 25, 18, 5), django_capture_on_commit_callbacks)["vencidos"] == 0
    si.refresh_from_db()
    assert si.version == 1
    assert (RegistroAuditoria.objects.count(), Notificacion.objects.count(), len(mail.outbox)) == antes


def test_barrido_notifica_al_rol_destinatario(esc, u, calendario, django_capture_on_commit_callbacks):
    si = abrir_si(esc, local(2026, 11, 25, 9, 0), destinatario="MONITORA")
    barrer(local(2026, 11, 26, 8, 0), django_capture_on_commit_callbacks)
    assert Notificacion.objects.filter(usuario=u.monitora, clave=f"servicio:{si.pk}").exists()
    assert not Notificacion.objects.filter(usuario=u.asesor).exists()


def test_notificaciones_con_el_cambio_y_correo_despues_del_commit(
    esc, u, calendario, django_capture_on_commit_callbacks
):
    """The sweep's notices are written in the transaction of the change that causes them (a
    worker killed after the commit cannot lose them: tests/test_fallos.py); the e-mail is queued
    only after the commit."""
    u.asesor.email = "asesor@example.com"
    u.asesor.save()
    abrir_si(esc, local(2026, 11, 25, 9, 0))
    Notificacion.objects.filter(tipo="nuevo_si").update(correo_enviado_at=local(2026, 11, 25, 9, 0))
    with time_machine.travel(local(2026, 11, 26, 8, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=False) as pendientes:
            tasks.barrer()
        assert ServicioIngenieria.objects.get().estado == "vencido"
        aviso = Notificacion.objects.get(usuario=u.asesor, tipo="vencido")  # written with the change
        assert aviso.correo_enviado_at is None and mail.outbox == []  # no e-mail before the commit
        with django_capture_on_commit_callbacks(execute=True):
            for callback in pendientes:
                callback()
    aviso.refresh_from_db()
    assert aviso.correo_enviado_at is not None and [m.to for m in mail.outbox] == [["asesor@example.com"]]


def _muchos_vencidos(esc, u, n):
    """n open SIs on one Solicitud, opened through the transition path, all due."""
    s = esc.solicitud("observada")
    with time_machine.travel(local(2026, 11, 25, 9, 0), tick=False):
        for _ in range(n):
            T.abrir_servicio(
                s,
                u.gestion_red,
                tipo="impedimento",
                impedimento="cierre_ot",
                destinatario="GESTION_RED",
                requerido="OT no cerrada por Operaciones",
            )


def _consultas_barrido(esc, u, n, capturar, cuando):
    _muchos_vencidos(esc, u, n)
    with time_machine.travel(cuando, tick=False), CaptureQueriesContext(connection) as q:
        with capturar(execute=True):
            assert tasks.barrer()["vencidos"] == n
    assert ServicioIngenieria.objects.filter(estado="vencido").count() >= n
    sqls = [c["sql"] for c in q.captured_queries]
    if connection.vendor == "sqlite":
        # Django splits bulk INSERTs into batches of 999 parameters on SQLite only.
        sqls = [s for s in sqls if not s.startswith("INSERT")]
    return len(sqls)


def test_barrido_consultas_constantes_10_y_1000(esc, u, calendario, django_capture_on_commit_callbacks):
    diez = _consultas_barrido(esc, u, 10, django_capture_on_commit_callbacks, local(2026, 11, 26, 8, 0))
    mil = _consultas_barrido(esc, u, 1000, django_capture_on_commit_callbacks, local(2026, 11, 27, 8, 0))
    assert diez == mil
    assert RegistroAuditoria.objects.filter(transicion="vencer").count() == 1010
    # Gestión de Red gets one notice per sweep, each destinatario one per SI
    assert Notificacion.objects.filter(usuario=u.gestion_red, tipo="vencido").count() == 1010 + 2


def test_barrido_interrumpido_se_completa_sin_duplicar(
    esc, u, calendario, monkeypatch, django_capture_on_commit_callbacks
):
    """A worker killed after the UPDATE but before the commit leaves nothing done; the rerun
    (the redelivered message) does it once."""
    from anulaciones.models.servicio import ServicioQuerySet

    _muchos_vencidos(esc, u, 5)
    original = ServicioQuerySet.update

    def muere(self, **campos):
        original(self, **campos)
        raise SystemExit("worker killed")

    with monkeypatch.context() as m:
        m.setattr(ServicioQuerySet, "update", muere)
        with time_machine.travel(local(2026, 11, 26, 8, 0), tick=False), pytest.raises(SystemExit):
            tasks.barrer_plazos.run()
    assert ServicioIngenieria.objects.filter(estado="vencido").count() == 0
    assert RegistroAuditoria.objects.filter(transicion="vencer").count() == 0
    for _ in range(2):
        with (
            time_machine.travel(local(2026, 11, 26, 8, 1), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            tasks.barrer_plazos.run()
    assert ServicioIngenieria.objects.filter(estado="vencido").count() == 5
    assert RegistroAuditoria.objects.filter(transicion="vencer").count() == 5


def test_barrido_por_lotes_vence_todos(esc, u, calendario, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(tasks, "LOTE", 3)
    _muchos_vencidos(esc, u, 7)
    assert barrer(local(2026, 11, 26, 8, 0), django_capture_on_commit_callbacks)["vencidos"] == 7
    assert ServicioIngenieria.objects.filter(estado="abierto").count() == 0
    assert RegistroAuditoria.objects.filter(transicion="vencer").count() == 7


def test_aplicar_en_bloque_exige_el_rol_y_rechaza_transiciones_con_efectos(esc, u):
    si = esc.servicio("abierto")
    with pytest.raises(T.SinPermiso):
        T.aplicar_en_bloque(ServicioIngenieria.objects.select_related("solicitud"), "vencer", u.gestion_red)
    si.refresh_from_db()
    assert si.estado == "abierto"
    with pytest.raises(T.DatosInvalidos):  # needs data: only aplicar() takes it
        T.aplicar_en_bloque(ServicioIngenieria.objects.all(), "atender", u.asesor)
    s = esc.solicitud("registrada")
    with pytest.raises(T.TransicionNoEnBloque):  # not declared en_bloque: it has effects (the OT, the SIs)
        T.aplicar_en_bloque(Solicitud.objects.filter(pk=s.pk), "asignar_instalacion", u.gestion_red)
    s.refresh_from_db()
    assert s.estado == "registrada"


# --- the warning one hour before -------------------------------------------------------------
def test_aviso_una_hora_antes_una_sola_vez(esc, u, calendario, django_capture_on_commit_callbacks):
    si = abrir_si(esc, local(2026, 11, 25, 9, 0))
    assert barrer(local(2026, 11, 25, 16, 59), django_capture_on_commit_callbacks)["avisos"] == 0
    assert barrer(local(2026, 11, 25, 17, 0), django_capture_on_commit_callbacks)["avisos"] == 1
    assert barrer(local(2026, 11, 25, 17, 30), django_capture_on_commit_callbacks)["avisos"] == 0
    si.refresh_from_db()
    assert si.aviso_enviado_at == local(2026, 11, 25, 17, 0)
    assert si.estado == "abierto" and si.version == 0  # a warning is not a transition
    avisos = Notificacion.objects.filter(tipo="aviso")
    assert [(n.usuario, n.clave) for n in avisos] == [(u.asesor, f"servicio:{si.pk}")]


def test_aviso_no_se_envia_si_ya_fue_atendido(esc, u, calendario, django_capture_on_commit_callbacks):
    si = abrir_si(esc, local(2026, 11, 25, 9, 0))
    with time_machine.travel(local(2026, 11, 25, 16, 0), tick=False):
        T.aplicar(si, "atender", u.asesor, respuesta="Referencia corregida")
    assert barrer(local(2026, 11, 25, 17, 30), django_capture_on_commit_callbacks) == {
        "vencidos": 0,
        "avisos": 0,
        "redigitaciones": 0,
    }


# --- re-digitation within 2 hours (19.2) -------------------------------------------------------
def pendiente(esc, u, cuando):
    with time_machine.travel(cuando, tick=False):
        return esc.solicitud("pendiente_redigitacion")


def test_redigitacion_vence_dos_horas_despues(esc, u, calendario):
    s = pendiente(esc, u, local(2026, 11, 25, 10, 0))
    assert s.redigitacion_vence_at == local(2026, 11, 25, 12, 0)
    si = s.servicios.get(tipo="redigitacion")
    assert si.vence_at == local(2026, 11, 25, 12, 0)


def test_redigitacion_a_tiempo_no_escala(esc, u, calendario, django_capture_on_commit_callbacks):
    s = pendiente(esc, u, local(2026, 11, 25, 10, 0))
    with time_machine.travel(local(2026, 11, 25, 11, 59), tick=False):
        T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s))
    assert barrer(local(2026, 11, 25, 12, 1), django_capture_on_commit_callbacks)["redigitaciones"] == 0
    s.refresh_from_db()
    assert (s.estado, s.redigitacion_tardia, s.redigitacion_escalada_at) == ("redigitada", False, None)
    assert not Notificacion.objects.filter(tipo="redigitacion_tardia").exists()


def test_redigitacion_fuera_de_plazo_escala_al_team_leader(esc, u, calendario, django_capture_on_commit_callbacks):
    u.team_leader.email = "tl@example.com"
    u.team_leader.save()
    s = pendiente(esc, u, local(2026, 11, 25, 10, 0))
    # the task scheduled for the deadline, run early (a clock skew), does nothing
    with time_machine.travel(local(2026, 11, 25, 11, 59), tick=False):
        assert tasks.escalar_redigitacion.run(s.pk) == []
    # at the deadline + 1 s: flagged late, escalated once to the asesor's Team Leader
    for _ in range(2):
        with (
            time_machine.travel(local(2026, 11, 25, 12, 0, 1), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            tasks.escalar_redigitacion.run(s.pk)
    s.refresh_from_db()
    assert s.redigitacion_tardia is True
    assert s.redigitacion_escalada_at == local(2026, 11, 25, 12, 0, 1)
    assert s.estado == "pendiente_redigitacion"
    n = Notificacion.objects.get(tipo="redigitacion_tardia")
    assert (n.usuario, n.clave) == (u.team_leader, f"solicitud:{s.pk}")
    assert [m.to for m in mail.outbox if "Re-digitación" in m.subject] == [["tl@example.com"]]
    # the periodic sweep (backstop) finds nothing more to do
    assert barrer(local(2026, 11, 25, 12, 5), django_capture_on_commit_callbacks)["redigitaciones"] == 0
    # re-digitation registered after the deadline stays marked late
    with time_machine.travel(local(2026, 11, 25, 12, 30), tick=False):
        T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s))
    s.refresh_from_db()
    assert (s.estado, s.redigitacion_tardia) == ("redigitada", True)


def test_barrido_es_el_respaldo_de_la_escalacion(esc, u, calendario, django_capture_on_commit_callbacks):
    s = pendiente(esc, u, local(2026, 11, 25, 10, 0))
    resultado = barrer(local(2026, 11, 25, 12, 10), django_capture_on_commit_callbacks)
    assert resultado["redigitaciones"] == 1
    s.refresh_from_db()
    assert s.redigitacion_tardia and s.redigitacion_escalada_at == local(2026, 11, 25, 12, 10)
    assert Notificacion.objects.filter(usuario=u.team_leader, tipo="redigitacion_tardia").count() == 1


# (that «anular_para_redigitacion» schedules the check at its deadline, and a real worker runs
# it, is tested in test_worker.py against Redis)


# --- the month's workbook day ------------------------------------------------------------------
@pytest.mark.parametrize(
    "hoy, mes",
    [
        ("2026-11-27", None),
        ("2026-11-28", "2026-11-01"),
        ("2026-11-30", "2026-11-01"),
        ("2026-12-01", None),
        ("2026-02-26", "2026-02-01"),
        ("2026-02-25", None),
    ],
)
def test_dia_de_la_entrega_mensual(settings, hoy, mes):
    from datetime import date

    settings.ANULACIONES_ENTREGA_DIAS_ANTES = 2
    res = reports.mes_a_entregar(date.fromisoformat(hoy))
    assert (res.isoformat() if res else None) == mes


# --- notifications page and unread count -------------------------------------------------------
def test_pagina_de_notificaciones_y_contador(client, esc, u, calendario, django_capture_on_commit_callbacks):
    abrir_si(esc, local(2026, 11, 25, 9, 0))
    barrer(local(2026, 11, 26, 8, 0), django_capture_on_commit_callbacks)
    client.force_login(u.asesor)
    r = client.get("/notificaciones/")
    assert r.status_code == 200
    assert r.context["notificaciones_no_leidas"] == 2  # the new SI, then its expiry
    assert "vencido" in r.content.decode()
    n = Notificacion.objects.get(usuario=u.asesor, tipo="vencido")
    otro = Notificacion.objects.get(usuario=u.gestion_red, tipo="vencido")
    client.post("/notificaciones/leer/", {"id": otro.pk})  # someone else's: untouched
    otro.refresh_from_db()
    assert otro.leida_at is None
    r = client.post("/notificaciones/leer/", {"id": n.pk})
    assert r.status_code == 302
    assert client.get("/notificaciones/").context["notificaciones_no_leidas"] == 1


# --- the set-based paths write what the row-by-row paths wrote ----------------------------------
@pytest.mark.parametrize("modelo", ["servicio", "solicitud", "orden", "zonificacion"])
def test_texto_y_caso_de_auditoria_en_sql_iguales_a_str(esc, modelo):
    from django.db.models import F

    obj = {
        "servicio": lambda: esc.servicio("abierto"),
        "solicitud": lambda: esc.solicitud("registrada"),
        "orden": lambda: esc.orden("generada"),
        "zonificacion": lambda: esc.zonificacion("digitada"),
    }[modelo]()
    tipos = ServicioIngenieria.Tipo.values if modelo == "servicio" else [None]
    for tipo in tipos:
        if tipo:
            ServicioIngenieria.objects.filter(pk=obj.pk).update(tipo=tipo)
            obj.refresh_from_db()
        nombre = type(obj).NOMBRE  # the one declaration of the text, in Python (str) and in SQL
        fila = (
            type(obj)
            .objects.filter(pk=obj.pk)
            .annotate(o=nombre.expresion(), c=F(nombre.caso))
            .values_list("o", "c")
            .get()
        )
        assert fila == (str(obj)[:120], obj.caso_id_auditoria)


def test_aplicar_en_bloque_sin_cargar_filas_audita_como_fila_a_fila(
    esc, u, calendario, monkeypatch, django_capture_on_commit_callbacks
):
    """The system's sweep (one INSERT … SELECT of the audit rows) and the row-by-row path of a
    role whose scope depends on the row write the same audit rows, bump the version and send
    the signal once with the audit rows."""
    from anulaciones.signals import transiciones_en_bloque
    from anulaciones.transitions import en_bloque

    sis = [abrir_si(esc, local(2026, 11, 25, 9, 0), destinatario=d) for d in ("ASESOR", "COC", "ASESOR", "COC")]
    recibidas = []

    def receptor(sender, registros, pks, **kwargs):
        recibidas.append((sender, [(r.object_id, r.transicion) for r in registros], pks))

    transiciones_en_bloque.connect(receptor)
    filas = {}
    try:
        for nombre, grupo, por_filas in (("sql", sis[:2], False), ("filas", sis[2:], True)):
            with monkeypatch.context() as m:
                if por_filas:
                    m.setattr(en_bloque, "_rol_uniforme", lambda permiso, usuario: None)
                with (
                    time_machine.travel(local(2026, 11, 26, 8, 0), tick=False),
                    django_capture_on_commit_callbacks(execute=True),
                ):
                    pks = T.aplicar_en_bloque(
                        ServicioIngenieria.objects.filter(pk__in=[s.pk for s in grupo]),
                        "vencer",
                        u.sistema,
                        nota="Plazo de atención vencido (4.2).",
                    )
                    assert RegistroAuditoria.objects.filter(transicion="vencer", object_id__in=pks).count() == len(
                        grupo
                    )
            assert pks == [s.pk for s in grupo]
            filas[nombre] = [
                (
                    r.objeto.replace(str(s.pk), "N"),
                    r.caso_id == s.solicitud.caso_id,
                    r.transicion,
                    r.paso,
                    r.estado_origen,
                    r.estado_destino,
                    r.usuario_id,
                    r.rol,
                    r.creado_at,
                    r.nota,
                )
                for s in grupo
                for r in RegistroAuditoria.de_objeto(s).filter(transicion="vencer")
            ]
    finally:
        transiciones_en_bloque.disconnect(receptor)
    assert filas["sql"] == filas["filas"]
    assert filas["sql"][0] == (
        "SI N (Corrección)",
        True,
        "vencer",
        "5.2",
        "abierto",
        "vencido",
        u.sistema.pk,
        "SISTEMA",
        local(2026, 11, 26, 8, 0),
        "Plazo de atención vencido (4.2).",
    )
    assert [(s.estado, s.version) for s in ServicioIngenieria.objects.filter(pk__in=[s.pk for s in sis])] == [
        ("vencido", 1)
    ] * 4
    assert recibidas == [
        (ServicioIngenieria, [(s.pk, "vencer") for s in grupo], [s.pk for s in grupo]) for grupo in (sis[:2], sis[2:])
    ]


def test_avisos_del_barrido_destinatarios_textos_y_enlaces(
    esc, u, calendario, crear_usuario, django_capture_on_commit_callbacks
):
    """The sweep's notices come from one INSERT … SELECT per batch (PostgreSQL and SQLite alike):
    every destinatario role (inactive users left out), keys, and — rendered from the templates —
    texts with local times and links; written with the change, mailed after the commit, never
    twice."""
    from anulaciones import avisos, notificaciones
    from anulaciones.roles import Rol

    inactiva = crear_usuario(Rol.MONITORA, "monitora_inactiva")
    inactiva.is_active = False
    inactiva.save()
    crear_usuario(Rol.COC, "coc_2")
    sis = [
        abrir_si(esc, local(2026, 11, 25, 9, 0), destinatario=d)
        for d in ("ASESOR", "TEAM_LEADER", "MONITORA", "GESTION_RED", "COC")
    ]
    tardia = pendiente(esc, u, local(2026, 11, 25, 10, 0))
    Notificacion.objects.all().delete()
    mail.outbox.clear()
    with time_machine.travel(local(2026, 11, 26, 8, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():  # as the tasks call them: written in the change's transaction
            notificaciones.servicios_vencidos([s.pk for s in sis])
            notificaciones.servicios_por_vencer([s.pk for s in sis])
            notificaciones.redigitaciones_tardias([tardia.pk])
            assert Notificacion.objects.exists() and mail.outbox == []  # the e-mail after the commit
        antes = Notificacion.objects.count()
        with transaction.atomic():
            notificaciones.servicios_vencidos([s.pk for s in sis])  # again: nothing twice
        assert Notificacion.objects.count() == antes
    filas = sorted(
        (a.usuario_id, a.tipo, a.clave, a.titulo, a.texto, a.url)
        for a in avisos.presentar(Notificacion.objects.select_related(*avisos.RELACIONADOS))
    )
    claves = {(n[0], n[2]) for n in filas if n[1] == "vencido"}
    assert (u.team_leader.pk, f"servicio:{sis[1].pk}") in claves
    assert (inactiva.pk, f"servicio:{sis[2].pk}") not in claves
    # asesor, team leader, monitora (the inactive one left out), gestión de red, two COC, GR's summary
    assert len([n for n in filas if n[1] == "vencido"]) == 1 + 1 + 1 + 1 + 2 + 1
    numero = sis[0].solicitud.numero_smartflex
    assert (
        u.asesor.pk,
        "vencido",
        f"servicio:{sis[0].pk}",
        f"SI {sis[0].pk} vencido: solicitud {numero}",
        "El Servicio de Ingeniería venció el 25/11/2026 18:00 sin respuesta.",
        f"/solicitudes/{sis[0].solicitud_id}/",
    ) in filas
    assert (
        u.asesor.pk,
        "aviso",
        f"servicio:{sis[0].pk}",
        f"SI {sis[0].pk} vence a las 18:00: solicitud {numero}",
        "Responda el Servicio de Ingeniería antes del 25/11/2026 18:00.",
        f"/solicitudes/{sis[0].solicitud_id}/",
    ) in filas
    resumen = [n for n in filas if n[0] == u.gestion_red.pk and n[2].startswith("vencidos:")]
    assert len(resumen) == 1 and resumen[0][3] == "5 Servicios de Ingeniería vencidos"
    assert resumen[0][4].startswith(f"Vencieron sin respuesta: SI {sis[0].pk} ({numero}), ")
    assert resumen[0][5] == "/tablero/"
    assert any(n[5] == f"/solicitudes/{tardia.pk}/" and n[1] == "redigitacion_tardia" for n in filas)
    assert not Notificacion.objects.filter(correo_enviado_at__isnull=True).exists()  # mailed after the commit
