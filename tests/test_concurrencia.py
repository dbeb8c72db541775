"""Two people acting on the same case at once, on PostgreSQL with two real connections:
exactly one wins, the other is told clearly, the audit log has one row."""
import threading

import pytest
from django.db import connection, connections

from anulaciones import transitions as T
from anulaciones.errors import Conflicto
from anulaciones.models import RegistroAuditoria, Solicitud

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): row locks across connections")


def _a_la_vez(*acciones):
    """Run each action in its own thread (own DB connection), released together."""
    barrera = threading.Barrier(len(acciones))
    resultados = [None] * len(acciones)

    def correr(i, accion):
        try:
            barrera.wait()
            resultados[i] = ("ok", accion())
        except Exception as e:  # noqa: BLE001 - reported to the test
            resultados[i] = ("error", e)
        finally:
            connections.close_all()

    hilos = [threading.Thread(target=correr, args=(i, a)) for i, a in enumerate(acciones)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(30)
    return resultados


def test_dos_usuarios_anulan_y_asignan_a_la_vez_gana_uno(u, nueva_solicitud):
    s = nueva_solicitud()
    vista_gr = Solicitud.objects.get(pk=s.pk)  # each user loaded the page at the same version
    vista_coc = Solicitud.objects.get(pk=s.pk)
    resultados = _a_la_vez(
        lambda: T.aplicar(vista_gr, "asignar_instalacion", u.gestion_red),
        lambda: T.aplicar(vista_coc, "anular", u.coc, motivo="Cliente desiste",
                          justificacion="El cliente llamó para desistir"),
    )
    estados = sorted(r[0] for r in resultados)
    assert estados == ["error", "ok"], resultados
    perdedor = next(r[1] for r in resultados if r[0] == "error")
    assert isinstance(perdedor, Conflicto)
    assert "fue modificado" in perdedor.mensaje
    s.refresh_from_db()
    ganador = "asignar_instalacion" if s.estado == "en_instalacion" else "anular"
    filas = list(RegistroAuditoria.de_objeto(s).values_list("transicion", flat=True))
    assert filas == ["registrar", ganador]
    assert s.version == 1


def test_la_misma_transicion_dos_veces_deja_una_fila_de_auditoria(u, nueva_solicitud):
    s = nueva_solicitud()
    vistas = [Solicitud.objects.get(pk=s.pk) for _ in range(2)]
    resultados = _a_la_vez(*[
        (lambda v=v: T.aplicar(v, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita"))
        for v in vistas
    ])
    assert sorted(r[0] for r in resultados) == ["error", "ok"], resultados
    assert isinstance(next(r[1] for r in resultados if r[0] == "error"), Conflicto)
    assert RegistroAuditoria.de_objeto(s).filter(transicion="observar").count() == 1
    assert s.observaciones_registradas.count() == 1


def test_barrido_salta_el_si_que_un_usuario_esta_atendiendo(u, esc):
    """The set-based sweep skips (SKIP LOCKED) a due SI whose row a user holds while answering
    it: the answer is not overwritten, that SI gets no «vencer» row nor notice; the others do."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from anulaciones import tasks
    from anulaciones.models import Notificacion, ServicioIngenieria

    sis = [esc.servicio("abierto") for _ in range(3)]
    ServicioIngenieria.objects.filter(pk__in=[s.pk for s in sis]).update(vence_at=timezone.now() - timedelta(minutes=1))
    bloqueado, liberar, errores = threading.Event(), threading.Event(), []

    def usuario_atiende():
        try:
            with transaction.atomic():
                si = ServicioIngenieria.objects.select_for_update().get(pk=sis[0].pk)
                bloqueado.set()
                liberar.wait(10)
                T.aplicar(si, "atender", u.asesor, respuesta="Corregido")
        except Exception as e:  # noqa: BLE001 - reported to the test
            errores.append(e)
        finally:
            connections.close_all()

    hilo = threading.Thread(target=usuario_atiende)
    hilo.start()
    assert bloqueado.wait(10)
    try:
        vencidos = tasks.vencer_servicios()
        assert hilo.is_alive()  # the sweep did not wait for the user's lock
    finally:
        liberar.set()
        hilo.join(30)
    assert errores == []
    assert sorted(vencidos) == sorted(s.pk for s in sis[1:])
    estados = dict(ServicioIngenieria.objects.filter(pk__in=[s.pk for s in sis]).values_list("pk", "estado"))
    assert estados == {sis[0].pk: "atendido", sis[1].pk: "vencido", sis[2].pk: "vencido"}
    assert list(RegistroAuditoria.de_objeto(sis[0]).values_list("transicion", flat=True)) == ["abrir", "atender"]
    assert [list(RegistroAuditoria.de_objeto(s).values_list("transicion", flat=True)) for s in sis[1:]] == \
        [["abrir", "vencer"]] * 2
    claves = set(Notificacion.objects.filter(tipo="vencido", usuario=u.asesor).values_list("clave", flat=True))
    assert claves == {f"servicio:{s.pk}" for s in sis[1:]}
