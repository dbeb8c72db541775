"""``anulaciones.cola.encolar``: the one way to publish a task (issue 16). By name, after the
commit, bounded: a broker that does not answer is logged, never raised to the caller, and the
caller can tell (``Envio.publicado``). The worker and broker faults themselves: test_fallos.py."""

import logging
from unittest import mock

import pytest
from celery import current_app
from celery.exceptions import NotRegistered
from django.db import transaction

from anulaciones import cola, tasks

pytestmark = pytest.mark.django_db


def test_busca_la_tarea_por_nombre_en_el_registro():
    assert cola.tarea("enviar_correos") is tasks.enviar_correos._get_current_object()
    assert cola.tarea("anulaciones.tasks.importar_smartflex") is tasks.importar_smartflex._get_current_object()
    with pytest.raises(NotRegistered):  # a typo is a bug, not a broker outage
        cola.tarea("no_existe")


def test_publica_despues_del_commit_con_sus_argumentos(django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.enviar_entrega, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                envio = cola.encolar("enviar_entrega", 7)
                assert envio.publicado is None and not delay.called  # nothing before the commit
        delay.assert_called_once_with(7)
    assert envio.publicado is True


def test_nada_si_la_transaccion_se_deshace(django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.enviar_entrega, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                cola.encolar("enviar_entrega", 7)
                raise RuntimeError
    assert not delay.called


def test_broker_caido_se_registra_y_no_se_propaga(django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.WARNING, logger="anulaciones.cola")
    with mock.patch.object(tasks.enviar_correos, "delay", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            envio = cola.encolar("enviar_correos")
    assert envio.publicado is False
    assert any("enviar_correos" in r.getMessage() for r in caplog.records)


def test_en_modo_eager_la_tarea_corre(django_capture_on_commit_callbacks):
    """The tests' settings run tasks eagerly: published through the registry, the task still runs."""
    assert current_app.conf.task_always_eager
    with mock.patch("anulaciones.notificaciones.enviar_pendientes", return_value=0) as enviar:
        with django_capture_on_commit_callbacks(execute=True):
            envio = cola.encolar("enviar_correos")
    assert envio.publicado is True and enviar.called
