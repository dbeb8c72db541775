"""Issue 15, item 13: demo data that makes sense. Its addresses never use a street name its own
address knowledge marks as wrong, what an SI asks for depends on why the case was observed, and
every role logs in to work waiting on its home page, showing its part of the procedure."""

import re
from collections import defaultdict

import pytest
from django.core.management import call_command

from anulaciones import direcciones as D
from anulaciones.management.commands.demo_data import DEMO_PASSWORD
from anulaciones.models import AliasCalle, CajaNap, Calle, Observacion, ServicioIngenieria, Solicitud, Zonificacion
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("demo_data", casos=60, seed=7)


def test_las_direcciones_del_demo_no_usan_nombres_que_el_demo_marca_como_erroneos(demo):
    erroneos = defaultdict(set)  # normalized wrong name -> zones where it is wrong
    for normalizado, zona_id in AliasCalle.objects.values_list("normalizado", "calle__zona_id"):
        erroneos[normalizado].add(zona_id)
    assert len(erroneos) >= 6  # the demo does know wrong names, in several zones
    malas = [(s.numero_smartflex, s.calle) for s in Solicitud.objects.all() if D.normalizar(s.calle) in erroneos]
    malas += [
        (f"zonificación {z.pk}", z.calle) for z in Zonificacion.objects.all() if D.normalizar(z.calle) in erroneos
    ]
    assert malas == []
    # and the registration check, run now on each demo address, has nothing to warn about
    avisos = [
        (s.numero_smartflex, a["mensaje"])
        for s in Solicitud.objects.select_related("zona")
        for a in D.verificar(calle=s.calle, zona=s.zona, referencias=s.referencias, caja_nap=s.caja_nap)
    ]
    assert avisos == []
    # the knowledge is located: streets, reference points and boxes with coordinates in each zone
    assert Calle.objects.filter(latitud__isnull=False).values("zona").distinct().count() == 6
    assert CajaNap.objects.filter(latitud__isnull=False).values("zona").distinct().count() == 6


def test_lo_que_pide_un_si_depende_de_la_causa(demo):
    causa_de = {}
    for obs in Observacion.objects.order_by("creado_at", "pk"):
        causa_de[obs.solicitud_id] = obs.causa  # the latest observation of the case
    textos = defaultdict(set)
    for si in ServicioIngenieria.objects.filter(tipo__in=["correccion", "redigitacion"]):
        textos[causa_de[si.solicitud_id]].add(si.requerido)
    assert len(textos) >= 4, dict(textos)  # several causes led to SIs
    distintos = set().union(*textos.values())
    assert len(distintos) >= len(textos)
    for a in textos:
        for b in textos:
            if a < b:
                assert not textos[a] & textos[b], (a, b, textos[a] & textos[b])  # no text serves two causes


USUARIOS = {
    Rol.ASESOR: "asesor",
    Rol.MONITORA: "monitora",
    Rol.TEAM_LEADER: "team_leader",
    Rol.GESTION_RED: "gestion_red",
    Rol.COC: "coc",
    Rol.COZ: "coz",
    Rol.TECNICO: "tecnico",
    Rol.JEFE_DIVISION: "jefe_division",
    Rol.FACTURACION: "facturacion",
}


def pendientes(html):
    """What the home page lists as waiting: the cards of its queues and the red months."""
    tarjetas = sum(bloque.count("<li") for bloque in re.findall(r'<ul class="tarjetas">(.*?)</ul>', html, re.S))
    atrasados = re.search(r'id="meses-atrasados".*?<ul>(.*?)</ul>', html, re.S)
    return tarjetas + (atrasados.group(1).count("<li") if atrasados else 0)


def test_cada_rol_tiene_trabajo_esperando_en_su_inicio(demo, client):
    assert set(USUARIOS) == set(Rol.values)  # the nine roles
    vacios = []
    for rol, usuario in USUARIOS.items():
        assert client.login(username=usuario, password=DEMO_PASSWORD), usuario
        r = client.get("/")
        assert r.status_code == 200
        if pendientes(r.content.decode()) == 0:
            vacios.append(rol)
        client.logout()
    assert vacios == []


def test_el_demo_trae_una_conciliacion_con_smartflex_que_mostrar(demo, client):
    """Issue 18: a newcomer's Gestión de Red finds on /smartflex/conciliacion/ every class of
    difference from an imported feed, and a re-entry proposed as a re-digitation."""
    from anulaciones.models import Diferencia, Emparejamiento, ImportacionSmartflex

    assert ImportacionSmartflex.objects.filter(clase="estados", etapa="terminada").count() == 1
    assert set(Diferencia.objects.filter(estado="abierta").values_list("clase", flat=True)) == set(
        Diferencia.Clase.values
    )
    propuesta = Emparejamiento.objects.get(estado="propuesto")
    assert propuesta.confianza == 100 and propuesta.anulada.estado == "pendiente_redigitacion"
    client.login(username="gestion_red", password=DEMO_PASSWORD)
    pagina = client.get("/smartflex/conciliacion/").content.decode()
    assert "Conciliado con el archivo estados-smartflex-" in pagina
    assert propuesta.nueva.numero_smartflex in pagina
