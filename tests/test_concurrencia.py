"""Two people acting on the same case at once, on PostgreSQL with two real connections:
exactly one wins, the other is told clearly, the audit log has one row."""

import threading

import pytest
from django.db import connection, connections

from anulaciones import transitions as T
from anulaciones.errors import Conflicto
from anulaciones.models import RegistroAuditoria, Solicitud
from anulaciones.transitions import camino

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
        lambda: T.aplicar(
            vista_coc, "anular", u.coc, motivo="Cliente desiste", justificacion="El cliente llamó para desistir"
        ),
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
    resultados = _a_la_vez(
        *[
            (lambda v=v: T.aplicar(v, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita"))
            for v in vistas
        ]
    )
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
    assert [list(RegistroAuditoria.de_objeto(s).values_list("transicion", flat=True)) for s in sis[1:]] == [
        ["abrir", "vencer"]
    ] * 2
    claves = set(Notificacion.objects.filter(tipo="vencido", usuario=u.asesor).values_list("clave", flat=True))
    assert claves == {f"servicio:{s.pk}" for s in sis[1:]}


# --- opposite lock orders (issue 13): many rounds, never a deadlock escaping ------------------
RONDAS = 12


def _cadena(obj):
    return list(RegistroAuditoria.de_objeto(obj).values_list("transicion", flat=True))


def _rondas(preparar, accion_a, accion_b, finales):
    """RONDAS times: a fresh case, the two actions at once (two threads, two connections), then
    the case must be in one of ``finales`` ({(Solicitud state, OT state): (Solicitud audit chain,
    OT audit chain)}) with exactly that chain: one action applied once, the other refused with a
    Conflicto. Returns the count of each winner."""
    from anulaciones.errors import ErrorDominio
    from anulaciones.models import OrdenDeTrabajo

    ganadores, errores = {}, []
    for ronda in range(RONDAS):
        s = preparar()
        o = OrdenDeTrabajo.objects.get(solicitud=s)
        vista_s, vista_o = Solicitud.objects.get(pk=s.pk), OrdenDeTrabajo.objects.get(pk=o.pk)  # both pages open
        resultados = _a_la_vez(lambda: accion_a(vista_s), lambda: accion_b(vista_o))
        escapados = [v for t, v in resultados if t == "error" and not isinstance(v, ErrorDominio)]
        errores += [(ronda, repr(v)[:80]) for v in escapados]  # a deadlock (OperationalError) escaping: a 500
        s.refresh_from_db()
        o.refresh_from_db()
        assert (s.estado, o.estado) in finales, (ronda, s.estado, o.estado, resultados)
        assert (_cadena(s), _cadena(o)) == finales[(s.estado, o.estado)], (ronda, resultados)
        # the last step of both is one transaction: the winner's transition and its effect
        assert RegistroAuditoria.de_objeto(s).last().usuario_id == RegistroAuditoria.de_objeto(o).last().usuario_id
        assert sorted(r[0] for r in resultados) == ["error", "ok"], (ronda, resultados)
        assert escapados or isinstance(next(v for t, v in resultados if t == "error"), Conflicto), (ronda, resultados)
        ganadores[(s.estado, o.estado)] = ganadores.get((s.estado, o.estado), 0) + 1
    assert errores == [], f"{len(errores)} of {RONDAS} rounds: {errores}"
    return ganadores


def test_anular_la_solicitud_y_ejecutar_su_ot_a_la_vez_nunca_es_un_bloqueo_mutuo(u, esc):
    """``anular`` locks the Solicitud, then (effect) its OT; ``ejecutar`` locked the OT, then
    (effect) its Solicitud: 4–5 of 12 rounds ended in a deadlock (a 500). Now ``ejecutar`` takes
    the Solicitud first: one wins, the other gets a Conflicto, never a deadlock."""
    ganadores = _rondas(
        lambda: esc.solicitud("en_instalacion"),
        lambda s: T.aplicar(
            s, "anular", u.gestion_red, motivo="Cliente desiste", justificacion="El cliente llamó para desistir"
        ),
        lambda o: T.aplicar(o, "ejecutar", u.tecnico),
        {
            ("anulada", "anulada"): (
                ["registrar", "asignar_instalacion", "anular"],
                ["generar", "asignar", "coordinar_anulacion"],
            ),
            ("instalada", "ejecutada"): (
                ["registrar", "asignar_instalacion", "marcar_instalada"],
                ["generar", "asignar", "ejecutar"],
            ),
        },
    )
    assert sum(ganadores.values()) == RONDAS


def test_asignar_la_solicitud_y_su_ot_a_la_vez_nunca_es_un_bloqueo_mutuo(u, esc):
    """``asignar_instalacion`` (Solicitud, then its OT) against the OT's ``asignar`` (OT, then
    its Solicitud): both end in the same states; exactly one of them is audited, with its effect."""
    ganadores = _rondas(
        lambda: esc.solicitud("registrada"),
        lambda s: T.aplicar(s, "asignar_instalacion", u.gestion_red),
        lambda o: T.aplicar(o, "asignar", u.coc),
        {("en_instalacion", "asignada"): (["registrar", "asignar_instalacion"], ["generar", "asignar"])},
    )
    assert ganadores == {("en_instalacion", "asignada"): RONDAS}


def _esperando_un_bloqueo(n=1, segundos=10):
    """Wait until ``n`` other backends of this database wait for a row lock."""
    import time

    limite = time.monotonic() + segundos
    while time.monotonic() < limite:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cur.fetchone()[0] >= n:
                return True
        time.sleep(0.02)
    return False


def test_un_bloqueo_mutuo_que_queda_se_reintenta_y_termina_en_conflicto(u, esc, caplog):
    """A deadlock the lock order cannot prevent (a caller's own transaction holds the OT, then
    cancels the Solicitud, against an OT transition that takes Solicitud then OT): PostgreSQL
    aborts one of the two; the transition path retries (or, inside the caller's transaction,
    answers at once) and the loser gets a Conflicto. Never an OperationalError, one transition."""
    import logging

    from django.db import transaction

    from anulaciones.models import OrdenDeTrabajo

    caplog.set_level(logging.INFO, logger="anulaciones.transitions")
    s = esc.solicitud("en_instalacion")
    vista_s, vista_o = Solicitud.objects.get(pk=s.pk), OrdenDeTrabajo.objects.get(pk=s.orden.pk)
    tiene_la_ot, seguir = threading.Event(), threading.Event()

    def caller_con_su_transaccion():
        with transaction.atomic():
            OrdenDeTrabajo.objects.select_for_update().get(pk=vista_o.pk)  # against the order
            tiene_la_ot.set()
            assert seguir.wait(10)
            return T.aplicar(
                vista_s,
                "anular",
                u.gestion_red,
                motivo="Cliente desiste",
                justificacion="El cliente llamó para desistir",
            )

    def ejecutar():
        assert tiene_la_ot.wait(10)
        return T.aplicar(vista_o, "ejecutar", u.tecnico)  # Solicitud, then waits for the OT

    def coordinar():
        assert _esperando_un_bloqueo(1)  # ejecutar holds the Solicitud and waits for the OT
        seguir.set()
        return None

    resultados = _a_la_vez(caller_con_su_transaccion, ejecutar, coordinar)[:2]
    assert sorted(r[0] for r in resultados) == ["error", "ok"], resultados
    perdedor = next(v for t, v in resultados if t == "error")
    assert isinstance(perdedor, Conflicto), repr(perdedor)
    assert any("bloqueo mutuo" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    s.refresh_from_db()
    o = OrdenDeTrabajo.objects.get(pk=vista_o.pk)
    assert (s.estado, o.estado) in {("anulada", "anulada"), ("instalada", "ejecutada")}
    assert len(_cadena(s)) == 3 and len(_cadena(o)) == 3  # birth, asignar*, and exactly one more each


def _bloqueo_mutuo_simulado():
    import psycopg
    from django.db import OperationalError

    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_el_reintento_repite_toda_la_transaccion_una_sola_vez_aplicada(u, esc, monkeypatch):
    """A transaction aborted by a deadlock is run again from the start: the transition is applied
    once, with one audit row (nothing of the aborted attempt remains)."""
    s = esc.solicitud("registrada")
    original, llamadas = camino._bloquear, []

    def bloquear(modelo, obj):
        llamadas.append(modelo)
        if len(llamadas) == 1:
            raise _bloqueo_mutuo_simulado()
        return original(modelo, obj)

    monkeypatch.setattr(camino, "_bloquear", bloquear)
    T.aplicar(s, "asignar_instalacion", u.gestion_red)
    assert len(llamadas) == 2
    s.refresh_from_db()
    assert s.estado == "en_instalacion" and s.version == 1
    assert _cadena(s) == ["registrar", "asignar_instalacion"]
    assert _cadena(s.orden) == ["generar", "asignar"]


def test_tras_los_reintentos_un_bloqueo_mutuo_es_un_conflicto_409(u, esc, monkeypatch):
    """Still deadlocked after INTENTOS attempts: Conflicto (409 in the API, with a Spanish
    message), nothing saved."""
    from rest_framework.test import APIClient

    s = esc.solicitud("registrada")
    llamadas = []

    def bloquear(modelo, obj):
        llamadas.append(modelo)
        raise _bloqueo_mutuo_simulado()

    monkeypatch.setattr(camino, "_bloquear", bloquear)
    with pytest.raises(Conflicto) as e:
        T.aplicar(s, "asignar_instalacion", u.gestion_red)
    assert len(llamadas) == T.INTENTOS
    assert "se cruzó" in e.value.mensaje
    cliente = APIClient()
    cliente.force_authenticate(u.gestion_red)
    r = cliente.post(f"/api/v1/solicitudes/{s.pk}/asignar_instalacion/", {}, format="json")
    assert r.status_code == 409, r.content
    assert r.json() == {"detail": T.MENSAJE_CRUCE, "errores": {}}
    s.refresh_from_db()
    assert (s.estado, s.version, _cadena(s)) == ("registrada", 0, ["registrar"])
