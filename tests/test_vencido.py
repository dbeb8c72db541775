"""Overdue (5.2) is defined once, on the SI: ``ServicioIngenieria.esta_vencido`` (a row in red on
the Tablero, ``vencido`` in the API) and ``ServicioIngenieria.objects.vencidos`` (the Tablero's
«Vencidos» view) say the same of every SI, at the deadline itself and a second either side."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones.models import ServicioIngenieria

pytestmark = pytest.mark.django_db

AHORA = timezone.now().replace(microsecond=0)
ESTADOS = ("abierto", "vencido", "atendido", "cerrado_sin_atencion")
MOMENTOS = {
    "un segundo antes": timedelta(seconds=-1),
    "en el momento": timedelta(0),
    "un segundo después": timedelta(seconds=1),
}


@pytest.fixture
def servicios(esc):
    """One SI per (state, deadline relative to AHORA)."""
    res = {}
    for estado in ESTADOS:
        for momento, delta in MOMENTOS.items():
            si = esc.servicio(estado)
            ServicioIngenieria.objects.filter(pk=si.pk).update(vence_at=AHORA + delta)
            res[(estado, momento)] = ServicioIngenieria.objects.get(pk=si.pk)
    return res


def test_el_metodo_y_la_consulta_coinciden_en_el_limite(servicios):
    en_sql = set(ServicioIngenieria.objects.vencidos(AHORA).values_list("pk", flat=True))
    for (estado, momento), si in servicios.items():
        assert si.esta_vencido(AHORA) == (si.pk in en_sql), (estado, momento)
    # What the rule says: marked overdue, or still open with its deadline passed (strictly).
    esperado = {("vencido", m) for m in MOMENTOS} | {("abierto", "un segundo antes")}
    assert {clave for clave, si in servicios.items() if si.esta_vencido(AHORA)} == esperado


def test_la_api_dice_lo_mismo(servicios, u):
    """``vencido`` of GET /api/v1/servicios/<id>/ is the SI's own answer, at the same instant."""
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=u.gestion_red)[0].key}")
    with time_machine.travel(AHORA, tick=False):
        for clave, si in servicios.items():
            assert c.get(f"/api/v1/servicios/{si.pk}/").json()["vencido"] == si.esta_vencido(AHORA), clave
