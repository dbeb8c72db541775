"""The project's own promises: diagrams in the README match the machines, the demo data covers
every state of every machine through the transition path, and every demo user can log in."""

from pathlib import Path

import pytest
from django.core.management import call_command

from anulaciones.management.commands import diagramas
from anulaciones.management.commands.demo_data import DEMO_PASSWORD
from anulaciones.models import MAQUINAS, RegistroAuditoria
from anulaciones.roles import Rol

RAIZ = Path(__file__).resolve().parent.parent


def test_los_diagramas_del_readme_estan_al_dia():
    assert diagramas.todos() in (RAIZ / "README.md").read_text(encoding="utf-8"), "run `make diagrams`"


@pytest.mark.django_db
def test_demo_data_cubre_cada_estado_y_cada_rol_entra(client):
    call_command("demo_data", casos=25, seed=7)  # 19 shapes + 6 drawn by weight
    for modelo in MAQUINAS:
        vistos = set(modelo.objects.values_list("estado", flat=True))
        assert vistos == set(modelo.Estado.values), (modelo.__name__, set(modelo.Estado.values) - vistos)
    # Real audit trails: every object has its birth and each of its transitions audited.
    for modelo in MAQUINAS:
        for obj in modelo.objects.all()[:20]:
            filas = list(RegistroAuditoria.de_objeto(obj))
            assert filas and filas[0].estado_origen == "" and filas[-1].estado_destino == obj.estado
    fechas = RegistroAuditoria.objects.order_by("creado_at").values_list("creado_at", flat=True)
    assert (fechas.last() - fechas.first()).days >= 20  # spread over weeks, not one instant
    for rol in Rol.values:
        assert client.login(username=rol.lower(), password=DEMO_PASSWORD), rol
        assert client.get("/").status_code == 200
        client.logout()
    antes = RegistroAuditoria.objects.count()
    call_command("demo_data")  # a second run adds nothing
    assert RegistroAuditoria.objects.count() == antes


def test_dependencias_fijadas_con_hash():
    """Supply chain (issue 13): every package of requirements.txt is pinned with ``==`` and carries
    at least one hash (pip refuses the whole file under --require-hashes otherwise), and every
    direct dependency of requirements.in is there at the same version."""
    import re
    from pathlib import Path

    raiz = Path(__file__).resolve().parent.parent
    texto = (raiz / "requirements.txt").read_text()
    bloques = re.split(r"\n(?=[A-Za-z0-9])", texto.split("\n", 6)[-1].strip())
    paquetes = {}
    for b in bloques:
        if b.startswith("#"):
            continue
        cabeza = b.split()[0]
        assert re.fullmatch(r"[A-Za-z0-9_.-]+(\[[a-z0-9,_-]+\])?==[A-Za-z0-9_.+-]+", cabeza), cabeza
        assert "--hash=sha256:" in b, f"{cabeza} sin hash"
        nombre, version = cabeza.split("==")
        paquetes[re.sub(r"\[.*\]", "", nombre).lower().replace("_", "-")] = version
    assert len(paquetes) > 40
    Makefile = (raiz / "Makefile").read_text()
    assert "--require-hashes -r requirements.txt" in Makefile
    for linea in (raiz / "requirements.in").read_text().splitlines():
        linea = linea.split("#")[0].strip()
        if linea:
            nombre, version = linea.split("==")
            assert paquetes[re.sub(r"\[.*\]", "", nombre).lower().replace("_", "-")] == version, linea
