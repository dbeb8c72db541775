"""The working calendar kept in the database (issue 17): calendars per zone, holidays of every
calendar or of one, the deadlines computed with them when an SI or a re-digitation starts, the
recompute when the admin changes them (audited as the system's), and the 1-hour warning in
working time and working hours only — with time travel."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anulaciones import calendario, reloj, tasks
from anulaciones import transitions as T
from anulaciones.models import CalendarioLaboral, Feriado, RegistroAuditoria, ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
# November 2026: Wednesday 25, Thursday 26, Friday 27, Saturday 28, Sunday 29, Monday 30.


def local(*args):
    return datetime(*args, tzinfo=LP)


@pytest.fixture
def horario(settings):
    """Monday to Friday, 08:00 to 20:00 (no Saturday), no holidays in the settings."""
    settings.TIME_ZONE = "America/La_Paz"
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_REDIGITACION_HORAS = 2
    settings.ANULACIONES_REDIGITACION_MODO = "habil"
    settings.ANULACIONES_FERIADOS = []
    settings.ANULACIONES_AVISO_MINUTOS = 60
    return settings


def abrir_si(esc, u, cuando, zona=None):
    """An SI (3.1) opened at ``cuando`` on a new Solicitud of ``zona`` (the first zone by default)."""
    with time_machine.travel(cuando, tick=False):
        s = esc.nueva(**({"zona": zona} if zona else {}))
        T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita")
        T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja más cercana")
    return ServicioIngenieria.objects.get(solicitud=s)


def pendiente(esc, cuando):
    with time_machine.travel(cuando, tick=False):
        return esc.solicitud("pendiente_redigitacion")


def recalculos(obj=None):
    qs = RegistroAuditoria.objects.filter(transicion="recalcular_plazo")
    return qs.filter(object_id=obj.pk, content_type__model=obj._meta.model_name) if obj else qs


def releer(*objs):
    for o in objs:
        o.refresh_from_db()


# --- the calendars ----------------------------------------------------------------------------------
def test_el_plazo_del_si_sigue_el_calendario_de_su_zona(esc, u, zonas, horario):
    mananas = CalendarioLaboral.objects.create(nombre="Solo mañanas", horario="lun-vie 08:00-13:00")
    zonas[1].calendario = mananas
    zonas[1].save()
    norte = abrir_si(esc, u, local(2026, 11, 25, 9, 0))
    sur = abrir_si(esc, u, local(2026, 11, 25, 9, 0), zona=zonas[1])
    assert norte.vence_at == local(2026, 11, 25, 20, 0)  # the settings' hours
    assert sur.vence_at == local(2026, 11, 25, 13, 0)  # the zone's own
    assert sur.aviso_at == local(2026, 11, 25, 12, 0)
    assert "13:00" in sur.vence_explicacion and "20:00" in norte.vence_explicacion
    tarde = abrir_si(esc, u, local(2026, 11, 25, 12, 30), zona=zonas[1])  # half an hour left in the south
    assert tarde.vence_at == local(2026, 11, 26, 13, 0)
    # A calendar marked predeterminado replaces the settings' hours in the zones without their own.
    CalendarioLaboral.objects.create(nombre="General", horario="lun-sab 09:00-17:00", predeterminado=True)
    assert abrir_si(esc, u, local(2026, 11, 28, 10, 0)).vence_at == local(2026, 11, 28, 17, 0)  # a Saturday
    assert abrir_si(esc, u, local(2026, 11, 28, 10, 0), zona=zonas[1]).vence_at == local(2026, 11, 30, 13, 0)


def test_el_feriado_de_un_calendario_no_toca_a_otro(esc, u, zonas, horario):
    sur = CalendarioLaboral.objects.create(nombre="Sur", horario="lun-vie 08:00-20:00")
    zonas[1].calendario = sur
    zonas[1].save()
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Aniversario del Sur", calendario=sur)
    # Wednesday night: the next working day ends it — Thursday in the north, Friday in the south.
    si_norte = abrir_si(esc, u, local(2026, 11, 25, 21, 0))
    si_sur = abrir_si(esc, u, local(2026, 11, 25, 21, 0), zona=zonas[1])
    assert si_norte.vence_at == local(2026, 11, 26, 20, 0)
    assert si_sur.vence_at == local(2026, 11, 27, 20, 0)
    assert "Aniversario del Sur" in si_sur.vence_explicacion
    assert "Aniversario" not in si_norte.vence_explicacion
    # A holiday without calendar is every calendar's (the settings' ones too).
    Feriado.objects.create(fecha=date(2026, 11, 30), nombre="Feriado nacional")
    horario.ANULACIONES_FERIADOS = ["2026-12-01"]
    assert abrir_si(esc, u, local(2026, 11, 27, 21, 0)).vence_at == local(2026, 12, 2, 20, 0)
    assert abrir_si(esc, u, local(2026, 11, 27, 21, 0), zona=zonas[1]).vence_at == local(2026, 12, 2, 20, 0)


def test_cargar_calendarios_en_consultas_constantes(zonas, horario, django_assert_num_queries):
    sur = CalendarioLaboral.objects.create(nombre="Sur", horario="lun-vie 09:00-18:00")
    zonas[1].calendario = sur
    zonas[1].save()
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="General")
    Feriado.objects.create(fecha=date(2026, 11, 27), nombre="Del Sur", calendario=sur)
    with django_assert_num_queries(2):
        del_sur = CalendarioLaboral.de_zona(zonas[1].pk)
    with django_assert_num_queries(2):
        del_norte = CalendarioLaboral.de_zona(zonas[0].pk)
    assert (del_sur.nombre, del_sur.feriados) == ("Sur", {date(2026, 11, 26), date(2026, 11, 27)})
    assert del_norte.feriados == {date(2026, 11, 26)}
    assert del_norte.horario == reloj.leer_horario("lun-vie 08:00-20:00")
    with django_assert_num_queries(3):
        todos = CalendarioLaboral.todos()
    assert todos.de_zona(zonas[1].pk) == del_sur and todos.de_zona(zonas[0].pk) == del_norte


def test_horario_invalido_se_rechaza_con_el_motivo(admin_client, horario, django_capture_on_commit_callbacks):
    texto = "lun-vie 20:00-08:00"
    with pytest.raises(ValueError) as motivo:
        reloj.leer_horario(texto)
    with pytest.raises(ValidationError) as error:
        CalendarioLaboral(nombre="Nocturno", horario=texto).full_clean()
    assert error.value.message_dict == {"horario": [str(motivo.value)]}
    with django_capture_on_commit_callbacks(execute=True) as encolados:
        r = admin_client.post(
            reverse("admin:anulaciones_calendariolaboral_add"), {"nombre": "Nocturno", "horario": texto, **SIN_FERIADOS}
        )
    assert r.status_code == 200 and str(motivo.value) in r.content.decode()
    assert not CalendarioLaboral.objects.exists() and encolados == []
    # A valid one is stored in its canonical form.
    bueno = CalendarioLaboral(nombre="Centro", horario="Lunes-Viernes 08:00-20:00 ;  sáb 08:00-13:00")
    bueno.full_clean()
    assert bueno.horario == "lun-vie 08:00-20:00; sab 08:00-13:00"


def test_un_solo_predeterminado_y_feriados_sin_repetir(db, horario):
    CalendarioLaboral.objects.create(nombre="A", horario="lun-vie 08:00-20:00", predeterminado=True)
    otro = CalendarioLaboral(nombre="B", horario="lun-vie 08:00-20:00", predeterminado=True)
    with pytest.raises(ValidationError, match="Ya hay un calendario predeterminado"):
        otro.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        otro.save()
    otro.predeterminado = False
    otro.save()
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Nacional")
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="También del B", calendario=otro)  # allowed
    with pytest.raises(ValidationError, match="Ya hay un feriado de todos los calendarios"):
        Feriado(fecha=date(2026, 11, 26), nombre="Otra vez").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Otra vez")
    with pytest.raises(ValidationError, match="Ese calendario ya tiene un feriado"):
        Feriado(fecha=date(2026, 11, 26), nombre="Otra vez", calendario=otro).full_clean()


def test_el_admin_lista_calendarios_con_sus_zonas(admin_client, zonas):
    sur = CalendarioLaboral.objects.create(nombre="Horario austral", horario="lun-vie 09:00-18:00")
    zonas[1].calendario = sur
    zonas[1].save()
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Aniversario del Sur", calendario=sur)
    lista = admin_client.get(reverse("admin:anulaciones_calendariolaboral_changelist")).content.decode()
    assert "Horario austral" in lista and zonas[1].nombre in lista and zonas[0].nombre not in lista
    ficha = admin_client.get(reverse("admin:anulaciones_calendariolaboral_change", args=[sur.pk])).content.decode()
    assert "Aniversario del Sur" in ficha and "lun-vie 08:00-13:00 14:00-20:00" in ficha  # its own holidays, the help
    assert "Horario austral" in admin_client.get(reverse("admin:anulaciones_feriado_changelist")).content.decode()
    assert "Horario austral" in admin_client.get(reverse("admin:anulaciones_zona_changelist")).content.decode()


# --- the admin recomputes -----------------------------------------------------------------------------
SIN_FERIADOS = {
    "feriados-TOTAL_FORMS": "0",
    "feriados-INITIAL_FORMS": "0",
    "feriados-MIN_NUM_FORMS": "0",
    "feriados-MAX_NUM_FORMS": "1000",
}


def test_feriado_agregado_en_el_admin_recalcula_y_el_tablero_lo_muestra(
    admin_client, client, esc, u, horario, django_capture_on_commit_callbacks
):
    noche = abrir_si(esc, u, local(2026, 11, 25, 21, 0))  # due Thursday's end
    manana = abrir_si(esc, u, local(2026, 11, 25, 9, 0))  # due Wednesday's end: not moved by Thursday
    atendido = abrir_si(esc, u, local(2026, 11, 25, 21, 0))
    with time_machine.travel(local(2026, 11, 25, 21, 30), tick=False):
        T.aplicar(atendido, "atender", u.asesor, respuesta="Listo")
    assert noche.vence_at == atendido.vence_at == local(2026, 11, 26, 20, 0)

    with time_machine.travel(local(2026, 11, 25, 22, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            r = admin_client.post(
                reverse("admin:anulaciones_feriado_add"),
                {"fecha": "2026-11-26", "nombre": "Feriado nacional", "calendario": ""},
            )
        assert r.status_code == 302
    releer(noche, manana, atendido)
    assert noche.vence_at == local(2026, 11, 27, 20, 0)
    assert noche.aviso_at == local(2026, 11, 27, 19, 0)
    assert "Feriado nacional" in noche.vence_explicacion
    assert manana.vence_at == local(2026, 11, 25, 20, 0)
    assert atendido.vence_at == local(2026, 11, 26, 20, 0)  # closed: its deadline is history
    assert list(recalculos().values_list("object_id", flat=True)) == [noche.pk]  # one row, for the one moved
    fila = recalculos().get()
    assert (fila.usuario, fila.rol, fila.estado_origen, fila.estado_destino, fila.caso_id, fila.creado_at) == (
        u.sistema,
        "SISTEMA",
        "abierto",
        "abierto",
        noche.solicitud.caso_id,
        local(2026, 11, 25, 22, 0),
    )
    assert fila.nota == "Plazo recalculado por cambio del calendario laboral: antes 26/11 20:00, ahora 27/11 20:00."

    client.force_login(u.gestion_red)
    with time_machine.travel(local(2026, 11, 25, 22, 5), tick=False):
        pagina = client.get("/tablero/").content.decode()
    assert "27/11/2026 20:00" in pagina and "26/11/2026 20:00" not in pagina

    # Deleted again (the list's bulk action): back to Thursday, audited once more.
    with time_machine.travel(local(2026, 11, 25, 22, 10), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            r = admin_client.post(
                reverse("admin:anulaciones_feriado_changelist"),
                {"action": "delete_selected", "_selected_action": [Feriado.objects.get().pk], "post": "yes"},
            )
        assert r.status_code == 302
    releer(noche)
    assert noche.vence_at == local(2026, 11, 26, 20, 0) and not Feriado.objects.exists()
    assert recalculos(noche).count() == 2


def test_cambio_de_horario_recalcula_la_redigitacion_pendiente(
    admin_client, esc, u, horario, django_capture_on_commit_callbacks
):
    general = CalendarioLaboral.objects.create(nombre="General", horario="lun-vie 08:00-20:00", predeterminado=True)
    s = pendiente(esc, local(2026, 11, 25, 10, 0))
    si = s.servicios.get(tipo="redigitacion")
    assert (s.redigitacion_desde, s.redigitacion_vence_at, si.vence_at) == (
        local(2026, 11, 25, 10, 0),
        local(2026, 11, 25, 12, 0),
        local(2026, 11, 25, 12, 0),
    )
    assert si.vence_explicacion == s.redigitacion_explicacion != ""
    otro = abrir_si(esc, u, local(2026, 11, 25, 9, 0))  # due at the day's end, 20:00 either way

    with time_machine.travel(local(2026, 11, 25, 10, 30), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            r = admin_client.post(
                reverse("admin:anulaciones_calendariolaboral_change", args=[general.pk]),
                {
                    "nombre": "General",
                    "horario": "lun-vie 08:00-11:00 15:00-20:00",
                    "predeterminado": "on",
                    **SIN_FERIADOS,
                },
            )
        assert r.status_code == 302
    releer(s, si, otro)
    # 10:00-11:00, then 15:00-16:00: two working hours.
    assert s.redigitacion_vence_at == si.vence_at == local(2026, 11, 25, 16, 0)
    assert si.aviso_at == local(2026, 11, 25, 15, 0)
    assert "16:00" in s.redigitacion_explicacion and si.vence_explicacion == s.redigitacion_explicacion
    assert otro.vence_at == local(2026, 11, 25, 20, 0)
    assert recalculos(s).get().paso == recalculos(si).get().paso == "19.2"
    assert recalculos().count() == 2 and recalculos(s).get().estado_destino == "pendiente_redigitacion"


def test_cambio_del_calendario_de_una_zona_recalcula(
    admin_client, esc, u, zonas, horario, django_capture_on_commit_callbacks
):
    corto = CalendarioLaboral.objects.create(nombre="Corto", horario="lun-vie 08:00-16:00")
    norte, sur = abrir_si(esc, u, local(2026, 11, 25, 9, 0)), abrir_si(esc, u, local(2026, 11, 25, 9, 0), zona=zonas[1])
    with time_machine.travel(local(2026, 11, 25, 10, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            r = admin_client.post(
                reverse("admin:anulaciones_zona_change", args=[zonas[1].pk]),
                {"codigo": zonas[1].codigo, "nombre": zonas[1].nombre, "activa": "on", "calendario": corto.pk},
            )
        assert r.status_code == 302
    releer(norte, sur)
    assert (norte.vence_at, sur.vence_at) == (local(2026, 11, 25, 20, 0), local(2026, 11, 25, 16, 0))
    assert list(recalculos().values_list("object_id", flat=True)) == [sur.pk]


def test_aviso_enviado_vuelve_a_enviarse_si_el_plazo_se_aleja(esc, u, horario, django_capture_on_commit_callbacks):
    si = abrir_si(esc, u, local(2026, 11, 26, 9, 0))
    with time_machine.travel(local(2026, 11, 26, 19, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.barrer()["avisos"] == 1
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Decretado a última hora")
    with time_machine.travel(local(2026, 11, 26, 19, 10), tick=False):
        assert calendario.recalcular_plazos() == {"redigitaciones": 0, "servicios": 1}
    releer(si)
    assert (si.vence_at, si.aviso_at, si.aviso_enviado_at) == (
        local(2026, 11, 27, 20, 0),
        local(2026, 11, 27, 19, 0),
        None,
    )
    with time_machine.travel(local(2026, 11, 27, 19, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.barrer()["avisos"] == 1


def test_recalcular_dos_veces_no_cambia_nada(esc, u, horario):
    s = pendiente(esc, local(2026, 11, 25, 19, 30))
    sis = [abrir_si(esc, u, local(2026, 11, 25, 21, 0)) for _ in range(2)]
    assert calendario.recalcular_plazos() == {"redigitaciones": 0, "servicios": 0}
    horario.ANULACIONES_FERIADOS = ["2026-11-26"]
    assert calendario.recalcular_plazos() == {"redigitaciones": 1, "servicios": 3}
    assert calendario.recalcular_plazos() == {"redigitaciones": 0, "servicios": 0}
    releer(s, *sis)
    assert s.redigitacion_vence_at == local(2026, 11, 27, 9, 30)  # 30 min on Wednesday, 1 h 30 on Friday
    assert [si.vence_at for si in sis] == [local(2026, 11, 27, 20, 0)] * 2
    assert recalculos().count() == 4  # the Solicitud, its re-digitation SI and the two SIs


def test_recalcular_por_lotes_y_no_toca_los_vencidos(esc, u, horario, monkeypatch):
    monkeypatch.setattr(calendario, "LOTE", 3)
    abiertos = [abrir_si(esc, u, local(2026, 11, 25, 21, 0)) for _ in range(7)]
    vencido = abrir_si(esc, u, local(2026, 11, 25, 21, 0))
    T.aplicar(vencido, "vencer", u.sistema)
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Feriado")
    assert calendario.recalcular_plazos() == {"redigitaciones": 0, "servicios": 7}
    assert set(
        ServicioIngenieria.objects.filter(pk__in=[s.pk for s in abiertos]).values_list("vence_at", flat=True)
    ) == {local(2026, 11, 27, 20, 0)}
    releer(vencido)
    assert vencido.vence_at == local(2026, 11, 26, 20, 0) and not recalculos(vencido).exists()


def test_comando_recalcular_plazos_tras_cambiar_la_configuracion(esc, u, horario, capsys):
    si = abrir_si(esc, u, local(2026, 11, 25, 9, 0))
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-18:00"
    with time_machine.travel(local(2026, 11, 25, 10, 0), tick=False):
        call_command("recalcular_plazos")
    assert "1 Servicio de Ingeniería" in capsys.readouterr().out
    releer(si)
    assert si.vence_at == local(2026, 11, 25, 18, 0) and recalculos(si).count() == 1


def _consultas_recalculo(esc, u, n, feriado):
    s = esc.solicitud("observada")
    with time_machine.travel(local(2026, 11, 25, 21, 0), tick=False):
        for _ in range(n):
            T.abrir_servicio(
                s,
                u.gestion_red,
                tipo="impedimento",
                impedimento="cierre_ot",
                destinatario="GESTION_RED",
                requerido="OT no cerrada por Operaciones",
            )
    Feriado.objects.create(fecha=feriado, nombre="Feriado")
    with CaptureQueriesContext(connection) as q:
        cambios = calendario.recalcular_plazos()
    assert cambios["servicios"] == ServicioIngenieria.objects.filter(estado="abierto").count()
    sqls = [c["sql"] for c in q.captured_queries]
    if connection.vendor == "sqlite":
        # Django splits bulk INSERTs and UPDATEs into batches of 999 parameters on SQLite only.
        sqls = [s for s in sqls if not s.startswith(("INSERT", "UPDATE"))]
    return len(sqls)


def test_recalcular_consultas_constantes_10_y_200(esc, u, horario):
    diez = _consultas_recalculo(esc, u, 10, date(2026, 11, 26))
    doscientos = _consultas_recalculo(esc, u, 200, date(2026, 11, 27))  # moves the first 10 again too
    assert diez == doscientos
    assert recalculos().count() == 10 + 210


# --- the warning: working time, working hours ------------------------------------------------------------
def test_aviso_cuenta_tiempo_habil(esc, u, horario, django_capture_on_commit_callbacks):
    """Cancelled for re-digitation on Friday at 18:30: 1 h 30 on Friday and 30 min on Monday; the
    warning one working hour before is on Friday at 19:30."""
    s = pendiente(esc, local(2026, 11, 27, 18, 30))
    si = s.servicios.get(tipo="redigitacion")
    assert si.vence_at == local(2026, 11, 30, 8, 30)
    assert si.aviso_at == local(2026, 11, 27, 19, 30)
    with time_machine.travel(local(2026, 11, 27, 19, 29), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.barrer()["avisos"] == 0
    with time_machine.travel(local(2026, 11, 27, 19, 30), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.barrer()["avisos"] == 1


def test_aviso_nunca_de_noche(esc, u, horario, django_capture_on_commit_callbacks):
    """The sweep did not run at 19:30 (worker down): at 22:00 and on Saturday the warning waits;
    it goes out on Monday at 08:00, with the deadline (08:30) still ahead."""
    s = pendiente(esc, local(2026, 11, 27, 18, 30))
    si = s.servicios.get(tipo="redigitacion")
    for cuando in (local(2026, 11, 27, 22, 0), local(2026, 11, 28, 10, 0), local(2026, 11, 30, 7, 59)):
        with time_machine.travel(cuando, tick=False), django_capture_on_commit_callbacks(execute=True):
            assert tasks.barrer()["avisos"] == 0, cuando
    releer(si)
    assert si.aviso_enviado_at is None
    with time_machine.travel(local(2026, 11, 30, 8, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.barrer()["avisos"] == 1
    releer(si)
    assert si.aviso_enviado_at == local(2026, 11, 30, 8, 0)


def test_aviso_segun_el_horario_de_cada_zona(esc, u, zonas, horario, django_capture_on_commit_callbacks):
    """At 19:30 the south (closing at 19:00 on its own calendar) is outside its hours: only the north is warned."""
    zonas[1].calendario = CalendarioLaboral.objects.create(nombre="Sur", horario="lun-vie 08:00-19:00")
    zonas[1].save()
    norte = abrir_si(esc, u, local(2026, 11, 25, 9, 0))
    sur = abrir_si(esc, u, local(2026, 11, 25, 9, 0), zona=zonas[1])
    ServicioIngenieria.objects.filter(pk=sur.pk).update(
        aviso_at=local(2026, 11, 25, 18, 0)
    )  # as if the sweep missed it
    with time_machine.travel(local(2026, 11, 25, 19, 30), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.avisar_por_vencer() == [norte.pk]


def test_si_sin_aviso_at_se_avisa_desde_su_vencimiento(esc, u, horario, django_capture_on_commit_callbacks):
    """An SI written without ``aviso_at`` (by the previous release during the upgrade, or by SQL)
    is still warned, ANULACIONES_AVISO_MINUTOS before its deadline."""
    si = abrir_si(esc, u, local(2026, 11, 25, 9, 0))
    ServicioIngenieria.objects.filter(pk=si.pk).update(aviso_at=None)
    with time_machine.travel(local(2026, 11, 25, 18, 59), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.avisar_por_vencer() == []
    with time_machine.travel(local(2026, 11, 25, 19, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.avisar_por_vencer() == [si.pk]


def test_solicitud_sin_inicio_del_plazo_no_se_recalcula(esc, u, horario):
    s = pendiente(esc, local(2026, 11, 25, 10, 0))
    Solicitud.objects.filter(pk=s.pk).update(redigitacion_desde=None)  # written before issue 17
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-11:00"
    assert calendario.recalcular_plazos()["redigitaciones"] == 0
    releer(s)
    assert s.redigitacion_vence_at == local(2026, 11, 25, 12, 0)


@pytest.mark.django_db(transaction=True)
def test_recalculo_salta_el_si_que_un_usuario_atiende_a_la_vez(esc, u, horario):
    """PostgreSQL, two connections: the recompute waits for the row a user holds while answering
    the SI, then finds it no longer open and leaves it (no new deadline, no audit row)."""
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): row locks across connections")
    sis = [abrir_si(esc, u, local(2026, 11, 25, 21, 0)) for _ in range(2)]
    Feriado.objects.create(fecha=date(2026, 11, 26), nombre="Feriado")
    bloqueado, liberar, resultado, errores = threading.Event(), threading.Event(), [], []

    def en_su_conexion(accion):
        try:
            accion()
        except Exception as e:  # noqa: BLE001 - reported to the test
            errores.append(e)
        finally:
            connections.close_all()

    def usuario_atiende():
        with transaction.atomic():
            si = ServicioIngenieria.objects.select_for_update().get(pk=sis[0].pk)
            bloqueado.set()
            liberar.wait(10)
            T.aplicar(si, "atender", u.asesor, respuesta="Corregido")

    usuario = threading.Thread(target=en_su_conexion, args=(usuario_atiende,))
    usuario.start()
    assert bloqueado.wait(10)
    tarea = threading.Thread(target=en_su_conexion, args=(lambda: resultado.append(calendario.recalcular_plazos()),))
    tarea.start()
    tarea.join(1)
    assert tarea.is_alive()  # waiting for the user's row
    liberar.set()
    usuario.join(30)
    tarea.join(30)
    assert errores == [] and resultado == [{"redigitaciones": 0, "servicios": 1}]
    releer(*sis)
    assert (sis[0].estado, sis[0].vence_at) == ("atendido", local(2026, 11, 26, 20, 0))
    assert sis[1].vence_at == local(2026, 11, 27, 20, 0)
    assert list(recalculos().values_list("object_id", flat=True)) == [sis[1].pk]


def test_dos_feriados_propios_de_la_misma_fecha_en_un_guardado_se_rechazan(
    admin_client, horario, django_capture_on_commit_callbacks
):
    """The conditional unique constraint is checked by the database only: two rows of one save
    with the same date must come back as a form error, not a 500, and nothing is saved."""
    with django_capture_on_commit_callbacks(execute=True) as encolados:
        r = admin_client.post(
            reverse("admin:anulaciones_calendariolaboral_add"),
            {
                "nombre": "Norte",
                "horario": "lun-vie 08:00-20:00",
                **SIN_FERIADOS,
                "feriados-TOTAL_FORMS": "2",
                "feriados-0-fecha": "2026-11-26",
                "feriados-0-nombre": "Aniversario",
                "feriados-1-fecha": "2026-11-26",
                "feriados-1-nombre": "Otro",
            },
        )
    assert r.status_code == 200 and "Ese calendario ya tiene un feriado en esa fecha." in r.content.decode()
    assert not CalendarioLaboral.objects.exists() and not Feriado.objects.exists() and encolados == []


def test_la_redigitacion_ya_escalada_no_se_recalcula(esc, u, horario):
    """Like a vencido SI: once its lateness was escalated (19.2), a later calendar does not move it."""
    s = pendiente(esc, local(2026, 11, 25, 10, 0))
    Solicitud.objects.filter(pk=s.pk).update(
        redigitacion_escalada_at=local(2026, 11, 25, 12, 1), redigitacion_tardia=True
    )
    Feriado.objects.create(fecha=date(2026, 11, 25), nombre="Feriado tardío")
    assert calendario.recalcular_plazos(local(2026, 11, 25, 13, 0))["redigitaciones"] == 0
    s.refresh_from_db()
    assert s.redigitacion_vence_at == local(2026, 11, 25, 12, 0) and s.redigitacion_tardia
    assert not recalculos(s).exists()
