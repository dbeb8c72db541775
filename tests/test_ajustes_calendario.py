"""The clocks' settings are checked when a process starts (``manage.py check``), in Spanish."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


@pytest.mark.parametrize(
    "ajuste, valor, mensaje",
    [
        ("ANULACIONES_HORARIO", "lun-vie 8-20", "no es un tramo horario"),
        ("ANULACIONES_HORARIO", "lunes 20:00-08:00", "posterior a la inicial"),
        ("ANULACIONES_HORARIO", "", "ningún tramo hábil"),
        ("ANULACIONES_REDIGITACION_MODO", "habiles", "«habil» o «reloj»"),
        ("TIME_ZONE", "America/Atlantida", "zona horaria desconocida"),
    ],
)
def test_un_ajuste_mal_escrito_detiene_el_arranque(settings, ajuste, valor, mensaje):
    setattr(settings, ajuste, valor)
    with pytest.raises(SystemCheckError, match=mensaje):
        call_command("check")


def test_los_ajustes_por_defecto_pasan(settings):
    call_command("check")


def test_horario_invalido_escrito_fuera_del_admin_no_impide_abrir_un_si(esc, u, settings, caplog):
    """A calendar written around the admin's validation (SQL, shell): the SI still opens, on the
    default week, and the error is logged for the operator."""
    from anulaciones.models import CalendarioLaboral, Zona

    settings.ANULACIONES_HORARIO = "lun-dom 08:00-20:00"
    roto = CalendarioLaboral.objects.create(nombre="Roto", horario="lun-vie 8 a 20")
    s = esc.solicitud("registrada")
    Zona.objects.filter(pk=s.zona_id).update(calendario=roto)
    cal = CalendarioLaboral.de_zona(s.zona_id)
    assert cal.horario == CalendarioLaboral.de_zona(None).horario
    assert "horario inválido" in caplog.text
