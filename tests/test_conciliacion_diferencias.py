"""Resolving the differences with Smartflex (issue 18, anulaciones.diferencias): every action on
every class, who may, the cancellation recorded with its real Smartflex date and counted by the
indicator in that date's period, the refusals of the transition path kept, the automatic ones,
the figures and the round trip into the export to Smartflex.

The differences are written here as the feed's import (anulaciones.conciliacion) writes them:
an EstadoSmartflex row and its Diferencia."""

import csv
import io
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones import diferencias, importacion
from anulaciones import transitions as T
from anulaciones.errors import Conflicto, DatosInvalidos, SinPermiso, TransicionNoPermitida
from anulaciones.models import (
    Diferencia,
    Emparejamiento,
    EstadoSmartflex,
    ImportacionSmartflex,
    OrdenDeTrabajo,
    RegistroAuditoria,
    Solicitud,
    Zona,
)
from anulaciones.reports import indicador as ind
from anulaciones.roles import SISTEMA, Rol

from .test_concurrencia import _a_la_vez

pytestmark = pytest.mark.django_db

LA_PAZ = ZoneInfo("America/La_Paz")
C = Diferencia.Clase
_claves = itertools.count(1)


def hace(**delta):
    return (timezone.now() - timedelta(**delta)).replace(second=0, microsecond=0)


def fuente(numero, estado="anulada", *, objeto="solicitud", fecha=None, solicitud=None, **extra):
    """The feed's latest row for a number, as the import keeps it."""
    return EstadoSmartflex.objects.create(
        objeto=objeto,
        numero=numero,
        estado=estado,
        fecha=fecha or hace(days=2),
        solicitud=solicitud,
        clave=f"clave-{next(_claves)}",
        **extra,
    )


def diferencia(clase, f, solicitud=None):
    return Diferencia.objects.create(
        fuente=f, clase=clase, solicitud=solicitud, estado_aplicacion=solicitud.estado if solicitud else ""
    )


def anulada_en_smartflex(s, **extra):
    return diferencia(C.ANULADA_EN_SMARTFLEX, fuente(s.numero_smartflex, solicitud=s, **extra), s)


def sin_caso(numero="SF-900001", **extra):
    datos = {"zona": "Z1", "asesor": "asesor", "cliente_nombre": "Rosa Quispe", "direccion": "Calle Sucre 45"}
    datos.update(extra)
    return diferencia(C.SIN_CASO, fuente(numero, **datos))


def local(instante):
    return f"{timezone.localtime(instante):%d/%m/%Y %H:%M}"


def filas_auditoria(obj):
    return list(RegistroAuditoria.de_objeto(obj).values_list("transicion", flat=True))


# --- registrar_anulacion ------------------------------------------------------------------------------
def test_registrar_anulacion_con_la_fecha_real_y_la_nota_de_importada(esc, u):
    s = esc.solicitud("en_instalacion")
    fecha = hace(days=2)
    dif = anulada_en_smartflex(s, fecha=fecha, usuario="jperez", motivo="Cliente viaja al exterior")

    resuelta = diferencias.resolver(dif.pk, "registrar_anulacion", u.gestion_red, nota="Confirmado con el COC")

    s.refresh_from_db()
    assert s.estado == "anulada" and s.anulada_at == fecha
    assert s.motivo_anulacion == "Cliente viaja al exterior"
    assert s.justificacion_anulacion == "Anulación hecha en Smartflex (conciliación)."
    assert s.orden.estado == "anulada"  # anular takes its OT with it
    assert s.caso.probable_at == fecha  # probable from its (real) cancellation
    fila = RegistroAuditoria.de_objeto(s).get(transicion="anular")
    assert fila.creado_at == fecha and fila.usuario == u.gestion_red and fila.rol == Rol.GESTION_RED
    assert fila.nota == (
        f"Importada de Smartflex: anulada el {local(fecha)} por jperez; registrada por conciliación. "
        "Nota: Confirmado con el COC"
    )
    assert RegistroAuditoria.de_objeto(s.orden).get(transicion="coordinar_anulacion").creado_at == fecha
    assert resuelta.estado == Diferencia.Estado.ANULACION_REGISTRADA
    assert resuelta.resuelta_por == u.gestion_red and resuelta.resuelta_at is not None
    assert resuelta.nota == "Confirmado con el COC" and not resuelta.automatica
    dif.refresh_from_db()
    assert dif.estado == Diferencia.Estado.ANULACION_REGISTRADA and dif.solicitud == s


def test_registrar_anulacion_sin_motivo_de_smartflex_y_por_el_coc(esc, u):
    s = esc.solicitud("observada")
    dif = anulada_en_smartflex(s)
    diferencias.resolver(dif.pk, "registrar_anulacion", u.coc)
    s.refresh_from_db()
    assert s.estado == "anulada" and s.motivo_anulacion == "Anulada en Smartflex"
    fila = RegistroAuditoria.de_objeto(s).get(transicion="anular")
    assert fila.rol == Rol.COC
    assert fila.nota == f"Importada de Smartflex: anulada el {local(dif.fuente.fecha)}; registrada por conciliación."


def test_una_fecha_de_smartflex_futura_se_registra_ahora(esc, u):
    s = esc.solicitud()
    dif = anulada_en_smartflex(s, fecha=timezone.now() + timedelta(days=3))
    antes = timezone.now()
    diferencias.resolver(dif.pk, "registrar_anulacion", u.gestion_red)
    s.refresh_from_db()
    assert antes <= s.anulada_at <= timezone.now()


def test_ot_anulada_en_smartflex_se_anula_por_su_solicitud(esc, u):
    o = esc.orden("asignada")
    s = o.solicitud
    dif = diferencia(C.ANULADA_EN_SMARTFLEX, fuente(o.numero, objeto="ot", solicitud=s), s)
    diferencias.resolver(dif.pk, "registrar_anulacion", u.coc)
    s.refresh_from_db()
    o.refresh_from_db()
    assert (s.estado, o.estado) == ("anulada", "anulada")
    assert RegistroAuditoria.de_objeto(s).filter(transicion="anular").count() == 1


def test_ot_con_el_tecnico_queda_abierta_con_la_negativa_en_espanol(esc, u):
    o = esc.orden("observada_en_campo")
    s = o.solicitud
    dif = diferencia(C.ANULADA_EN_SMARTFLEX, fuente(o.numero, objeto="ot", solicitud=s), s)
    antes = filas_auditoria(s)
    with pytest.raises(TransicionNoPermitida) as e:
        diferencias.resolver(dif.pk, "registrar_anulacion", u.gestion_red)
    assert "La OT está reportada por el técnico (pasos 14–17)" in e.value.mensaje
    dif.refresh_from_db()
    s.refresh_from_db()
    assert dif.estado == Diferencia.Estado.ABIERTA and dif.resuelta_at is None
    assert s.estado == "en_instalacion" and filas_auditoria(s) == antes


@pytest.mark.parametrize("estado", ["pendiente_redigitacion", "redigitada", "anulada"])
def test_ya_anulada_en_la_aplicacion_no_es_una_anulacion_que_falte(esc, u, estado):
    s = esc.solicitud(estado)
    dif = anulada_en_smartflex(s)
    antes = filas_auditoria(s)
    with pytest.raises(TransicionNoPermitida) as e:
        diferencias.resolver(dif.pk, "registrar_anulacion", u.gestion_red)
    assert "coincide con Smartflex" in e.value.mensaje
    s.refresh_from_db()
    assert s.estado == estado and filas_auditoria(s) == antes
    assert Diferencia.objects.get(pk=dif.pk).estado == Diferencia.Estado.ABIERTA


# --- crear_caso -----------------------------------------------------------------------------------------
def _mes_anterior():
    hoy = timezone.localdate()
    primero = (hoy.replace(day=1) - timedelta(days=1)).replace(day=1)
    return datetime(primero.year, primero.month, 3, 10, 20, tzinfo=LA_PAZ)


def test_crear_caso_probable_y_anulado_en_el_periodo_de_la_fecha_de_smartflex(u, zona):
    fecha = _mes_anterior()
    dif = sin_caso(
        "SF-777001",
        fecha=fecha,
        usuario="mrojas",
        motivo="Sin cobertura",
        cliente_documento="4455667",
        cliente_telefono="71234567",
    )
    resuelta = diferencias.resolver(dif.pk, "crear_caso", u.coc)

    s = Solicitud.objects.get(numero_smartflex="SF-777001")
    assert (s.zona, s.asesor, s.cliente_nombre, s.calle) == (zona, u.asesor, "Rosa Quispe", "Calle Sucre 45")
    assert (s.cliente_documento, s.cliente_telefono) == ("4455667", "71234567")
    assert s.estado == "anulada" and s.orden.estado == "anulada"
    assert s.creado_at == fecha and s.anulada_at == fecha and s.caso.probable_at == fecha
    assert s.motivo_anulacion == "Sin cobertura"
    # Born now (recorded by the person, «Creada por conciliación»), cancelled at the Smartflex date.
    nacimiento, anulacion = RegistroAuditoria.de_objeto(s).order_by("pk")
    assert (nacimiento.transicion, anulacion.transicion) == ("registrar", "anular")
    assert nacimiento.nota.startswith("Creada por conciliación") and nacimiento.usuario == u.coc
    fila = RegistroAuditoria.de_objeto(s).get(transicion="anular")
    assert fila.creado_at == fecha and "Importada de Smartflex" in fila.nota and "por mrojas" in fila.nota
    assert resuelta.estado == Diferencia.Estado.CASO_CREADO and resuelta.solicitud == s
    assert EstadoSmartflex.objects.get(pk=dif.fuente_id).solicitud == s

    # The indicator counts it in the month of the Smartflex date, not today's.
    mes = ind.Periodo.mes(fecha.year, fecha.month)
    total = ind.informe(mes)["total"]
    assert (total["probables"], total["anulados"]) == (1, 1)
    assert ind.informe(ind.Periodo.actual())["total"]["probables"] == 0


def test_crear_caso_sin_datos_de_cliente_en_smartflex(u):
    dif = sin_caso(cliente_nombre="", direccion="")
    diferencias.resolver(dif.pk, "crear_caso", u.gestion_red)
    s = Solicitud.objects.get(numero_smartflex="SF-900001")
    assert (s.cliente_nombre, s.calle) == ("(sin nombre en Smartflex)", "(sin dirección en Smartflex)")


def test_crear_caso_de_una_ot_sola(u):
    dif = sin_caso("OT-55", objeto="ot")
    diferencias.resolver(dif.pk, "crear_caso", u.gestion_red)
    o = OrdenDeTrabajo.objects.get(numero="OT-55")
    assert o.estado == "anulada" and o.solicitud.numero_smartflex == "OT OT-55"


def test_crear_caso_pide_asesor_y_zona_cuando_smartflex_no_los_da(u, zonas):
    dif = sin_caso(asesor="gestion_red", zona="Z9")  # not an asesor; not a zone
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, "crear_caso", u.gestion_red)
    assert e.value.errores == {
        "zona": "Elija la zona de la solicitud: Smartflex indica «Z9», que no es una zona activa.",
        "asesor": "Elija el asesor de la solicitud: Smartflex indica «gestion_red», que no es un asesor activo.",
    }
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, "crear_caso", u.gestion_red, zona_id=zonas[1].pk, asesor_id=u.monitora.pk)
    assert e.value.errores == {"asesor": "Elija un asesor activo."}
    assert not Solicitud.objects.filter(numero_smartflex="SF-900001").exists()
    diferencias.resolver(dif.pk, "crear_caso", u.gestion_red, zona_id=zonas[1].pk, asesor_id=u.asesor.pk)
    s = Solicitud.objects.get(numero_smartflex="SF-900001")
    assert (s.zona, s.asesor) == (zonas[1], u.asesor)


def test_crear_caso_sin_asesor_no_toma_a_quien_resuelve(u):
    dif = sin_caso(asesor="")
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, "crear_caso", u.coc)
    assert e.value.errores == {"asesor": "Elija el asesor de la solicitud: Smartflex no indica el asesor."}


def test_crear_caso_zona_inactiva(u, zona):
    Zona.objects.filter(pk=zona.pk).update(activa=False)
    dif = sin_caso()
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, "crear_caso", u.coc)
    assert set(e.value.errores) == {"zona"}


# --- error_smartflex ----------------------------------------------------------------------------------
@pytest.fixture
def una_por_clase(esc, u):
    """One open difference of each class, as the import would find them."""
    vigente = esc.solicitud("en_instalacion")
    anulada = esc.solicitud("anulada")
    o = esc.orden("asignada")
    return {
        C.ANULADA_EN_SMARTFLEX: anulada_en_smartflex(vigente),
        C.SIN_CASO: sin_caso(),
        C.ANULADA_EN_APLICACION: diferencia(
            C.ANULADA_EN_APLICACION, fuente(anulada.numero_smartflex, "registrada", solicitud=anulada), anulada
        ),
        C.EJECUTADA_EN_SMARTFLEX: diferencia(
            C.EJECUTADA_EN_SMARTFLEX, fuente(o.numero, "ejecutada", objeto="ot", solicitud=o.solicitud), o.solicitud
        ),
    }


@pytest.mark.parametrize("clase", C.values)
def test_error_smartflex_pide_nota_y_no_cambia_nada_en_la_aplicacion(una_por_clase, u, clase):
    dif = una_por_clase[clase]
    estados = dict(Solicitud.objects.values_list("pk", "estado"))
    auditoria = RegistroAuditoria.objects.count()
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, "error_smartflex", u.coc, nota="   ")
    assert set(e.value.errores) == {"nota"}
    resuelta = diferencias.resolver(dif.pk, "error_smartflex", u.coc, nota="Smartflex no registró la instalación")
    assert resuelta.estado == Diferencia.Estado.ERROR_SMARTFLEX and resuelta.resuelta_por == u.coc
    assert resuelta.nota == "Smartflex no registró la instalación"
    assert dict(Solicitud.objects.values_list("pk", "estado")) == estados
    assert RegistroAuditoria.objects.count() == auditoria


PARES_RECHAZADOS = [(c, a) for c in C.values for a in diferencias.ETIQUETAS_ACCION if a not in diferencias.ACCIONES[c]]


def test_acciones_por_clase():
    assert diferencias.ACCIONES == {
        "anulada_en_smartflex": ("registrar_anulacion", "error_smartflex"),
        "sin_caso": ("crear_caso", "error_smartflex"),
        "anulada_en_aplicacion": ("error_smartflex",),
        "ejecutada_en_smartflex": ("error_smartflex",),
    }
    assert set(diferencias.ETIQUETAS_ACCION) == {"registrar_anulacion", "crear_caso", "error_smartflex"}


@pytest.mark.parametrize(("clase", "accion"), PARES_RECHAZADOS)
def test_accion_de_otra_clase_se_rechaza(una_por_clase, u, clase, accion):
    dif = una_por_clase[clase]
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(dif.pk, accion, u.gestion_red, nota="x")
    assert "no resuelve una diferencia" in e.value.errores["accion"]
    assert Diferencia.objects.get(pk=dif.pk).estado == Diferencia.Estado.ABIERTA


def test_accion_desconocida(una_por_clase, u):
    with pytest.raises(DatosInvalidos) as e:
        diferencias.resolver(una_por_clase[C.SIN_CASO].pk, "borrar", u.gestion_red)
    assert e.value.errores == {"accion": "Acción «borrar» desconocida."}


def test_diferencia_inexistente(u):
    with pytest.raises(T.NoEncontrado):
        diferencias.resolver(987654, "error_smartflex", u.coc, nota="x")


@pytest.mark.parametrize("rol", [r for r in [*Rol.values, SISTEMA] if r not in (Rol.GESTION_RED, Rol.COC)])
def test_solo_gestion_de_red_y_el_coc_resuelven(una_por_clase, u, rol):
    dif = una_por_clase[C.ANULADA_EN_SMARTFLEX]
    for accion, extra in (("registrar_anulacion", {}), ("error_smartflex", {"nota": "x"})):
        with pytest.raises(SinPermiso):
            diferencias.resolver(dif.pk, accion, u.por_rol[rol], **extra)
    with pytest.raises(SinPermiso):
        diferencias.resolver_en_bloque([dif.pk], "error_smartflex", u.por_rol[rol], nota="x")
    assert Diferencia.objects.get(pk=dif.pk).estado == Diferencia.Estado.ABIERTA
    assert dif.solicitud.estado == "en_instalacion"


@pytest.mark.parametrize("accion", ["registrar_anulacion", "error_smartflex"])
def test_ya_resuelta_es_conflicto_que_dice_quien_y_cuando(una_por_clase, u, accion):
    dif = una_por_clase[C.ANULADA_EN_SMARTFLEX]
    primera = diferencias.resolver(dif.pk, "error_smartflex", u.gestion_red, nota="Smartflex se equivocó")
    with pytest.raises(Conflicto) as e:
        diferencias.resolver(dif.pk, accion, u.coc, nota="otra")
    assert e.value.mensaje == (
        f"La diferencia de Solicitud {dif.fuente.numero} ya fue resuelta por gestion_red el "
        f"{local(primera.resuelta_at)}: «Error de Smartflex»."
    )
    dif.refresh_from_db()
    assert dif.resuelta_por == u.gestion_red and dif.nota == "Smartflex se equivocó"
    assert dif.solicitud.estado == "en_instalacion"


# --- in bulk ------------------------------------------------------------------------------------------
def test_en_bloque_una_negativa_no_deshace_las_demas(esc, u):
    a, b = esc.solicitud(), esc.solicitud("observada")
    o = esc.orden("reportada_coz")
    da, db_ = anulada_en_smartflex(a), anulada_en_smartflex(b)
    dc = diferencia(C.ANULADA_EN_SMARTFLEX, fuente(o.numero, objeto="ot", solicitud=o.solicitud), o.solicitud)
    dd = sin_caso()  # wrong class for this action

    hechas, rechazadas = diferencias.resolver_en_bloque(
        [da.pk, dc.pk, db_.pk, dd.pk, da.pk], "registrar_anulacion", u.gestion_red
    )

    assert hechas == [da.pk, db_.pk]
    assert set(rechazadas) == {dc.pk, dd.pk}
    assert rechazadas[dc.pk].startswith("La OT está reportada por el técnico")
    assert "no resuelve una diferencia «Anulada en Smartflex, sin caso en la aplicación»" in rechazadas[dd.pk]
    assert set(Solicitud.objects.filter(pk__in=[a.pk, b.pk]).values_list("estado", flat=True)) == {"anulada"}
    assert Diferencia.objects.get(pk=dc.pk).estado == Diferencia.Estado.ABIERTA


def test_en_bloque_error_smartflex_pide_nota(esc, u):
    dif = anulada_en_smartflex(esc.solicitud())
    hechas, rechazadas = diferencias.resolver_en_bloque([dif.pk], "error_smartflex", u.coc)
    assert hechas == [] and rechazadas == {dif.pk: "Explique por qué el dato de Smartflex es el equivocado."}
    assert diferencias.resolver_en_bloque([dif.pk], "error_smartflex", u.coc, nota="Ya instalada") == ([dif.pk], {})


# --- automatic ------------------------------------------------------------------------------------------
def test_sin_el_setting_nada_se_aplica_solo(esc, u, settings):
    settings.ANULACIONES_SMARTFLEX_AUTOMATICO = []
    s = esc.solicitud()
    dif = anulada_en_smartflex(s)
    sc = sin_caso()
    assert diferencias.aplicar_automaticas() == 0
    assert Diferencia.objects.filter(pk__in=[dif.pk, sc.pk], estado="abierta").count() == 2
    s.refresh_from_db()
    assert s.estado == "registrada"


def test_aplicar_automaticas_como_el_sistema(esc, u, settings):
    settings.ANULACIONES_SMARTFLEX_AUTOMATICO = ["anulada_en_smartflex", "sin_caso"]
    s = esc.solicitud("en_instalacion")
    fecha = hace(days=1)
    registrar = anulada_en_smartflex(s, fecha=fecha, usuario="jperez")
    crear = sin_caso("SF-800001", fecha=fecha)
    sin_asesor = sin_caso("SF-800002", asesor="")
    o = esc.orden("observada_en_campo")
    con_tecnico = diferencia(C.ANULADA_EN_SMARTFLEX, fuente(o.numero, objeto="ot", solicitud=o.solicitud), o.solicitud)
    otra_clase = diferencia(
        C.ANULADA_EN_APLICACION,
        fuente("SF-800003", "registrada", solicitud=esc.solicitud("anulada")),
    )

    assert diferencias.aplicar_automaticas() == 2

    s.refresh_from_db()
    assert s.estado == "anulada" and s.anulada_at == fecha
    fila = RegistroAuditoria.de_objeto(s).get(transicion="anular")
    assert fila.usuario.username == "sistema" and fila.rol == SISTEMA and fila.creado_at == fecha
    assert fila.nota == (
        f"Importada de Smartflex: anulada el {local(fecha)} por jperez; registrada por conciliación automática."
    )
    assert RegistroAuditoria.de_objeto(s.orden).get(transicion="coordinar_anulacion").rol == SISTEMA
    nueva = Solicitud.objects.get(numero_smartflex="SF-800001")
    assert nueva.estado == "anulada" and nueva.caso.probable_at == fecha
    for d in (registrar, crear):
        d.refresh_from_db()
        assert d.automatica and d.resuelta_por.username == "sistema" and d.estado != "abierta"
    sin_asesor.refresh_from_db()
    assert sin_asesor.estado == "abierta"
    assert sin_asesor.nota == (
        "No se aplicó automáticamente: Elija el asesor de la solicitud: Smartflex no indica el asesor."
    )
    con_tecnico.refresh_from_db()
    assert con_tecnico.estado == "abierta" and con_tecnico.nota.startswith(
        "No se aplicó automáticamente: La OT está reportada por el técnico"
    )
    o.refresh_from_db()
    assert o.estado == "observada_en_campo" and o.solicitud.estado == "en_instalacion"
    assert Diferencia.objects.get(pk=otra_clase.pk).estado == "abierta"

    assert diferencias.aplicar_automaticas() == 0  # nothing twice
    assert RegistroAuditoria.de_objeto(s).filter(transicion="anular").count() == 1


def test_aplicar_automaticas_solo_las_clases_del_setting(esc, u, settings):
    settings.ANULACIONES_SMARTFLEX_AUTOMATICO = ["sin_caso"]
    s = esc.solicitud()
    dif = anulada_en_smartflex(s)
    sin_caso()
    assert diferencias.aplicar_automaticas() == 1
    assert Solicitud.objects.get(numero_smartflex="SF-900001").estado == "anulada"
    assert Diferencia.objects.get(pk=dif.pk).estado == "abierta"


def test_aplicar_automaticas_por_una_persona_con_su_rol(esc, u, settings):
    settings.ANULACIONES_SMARTFLEX_AUTOMATICO = ["anulada_en_smartflex"]
    s = esc.solicitud()
    dif = anulada_en_smartflex(s)
    assert diferencias.aplicar_automaticas(u.coc) == 1
    assert RegistroAuditoria.de_objeto(s).get(transicion="anular").rol == Rol.COC
    dif.refresh_from_db()
    assert dif.automatica and dif.resuelta_por == u.coc
    with pytest.raises(SinPermiso):
        diferencias.aplicar_automaticas(u.asesor)


# --- figures ----------------------------------------------------------------------------------------
def _poblar_cifras(esc, u, n=1):
    """n × (2 anuladas en Smartflex, 1 sin caso, 1 anulada en la aplicación, 1 ejecutada) open,
    then one of each FALTANTES class resolved (one by hand, one automatically), two re-entries
    linked (one automatically), one proposed, and a finished status import."""
    for i in range(n):
        for _ in range(2):
            anulada_en_smartflex(esc.solicitud())
        sin_caso(f"SF-91{i:04d}")
        anulada = esc.solicitud("anulada")
        diferencia(C.ANULADA_EN_APLICACION, fuente(f"{anulada.numero_smartflex}", "registrada", solicitud=anulada))
        o = esc.orden("asignada")
        diferencia(C.EJECUTADA_EN_SMARTFLEX, fuente(o.numero, "ejecutada", objeto="ot", solicitud=o.solicitud))
    diferencias.resolver(anulada_en_smartflex(esc.solicitud()).pk, "registrar_anulacion", u.coc)
    diferencias.resolver(sin_caso("SF-99999").pk, "error_smartflex", u.coc, nota="No existe")
    Diferencia.objects.filter(fuente__numero="SF-99999").update(automatica=True)
    for i, (estado, automatico) in enumerate(
        [("vinculado", True), ("vinculado", False), ("propuesto", False), ("vinculado", False)]
    ):
        Emparejamiento.objects.create(
            anulada=esc.solicitud("anulada"),
            nueva=esc.solicitud(),
            confianza=90,
            estado=estado,
            automatico=automatico,
            resuelto_at=None if estado == "propuesto" else (hace(days=60) if i == 3 else timezone.now()),
        )
    return ImportacionSmartflex.objects.create(
        clase="estados",
        archivo="importaciones/estados.csv",
        nombre="estados-hoy.csv",
        usuario=u.gestion_red,
        etapa="terminada",
        terminado_at=timezone.now(),
    )


def test_cifras(esc, u):
    vacias = diferencias.cifras()
    assert (vacias.faltantes, vacias.abiertas, vacias.resueltas, vacias.vinculadas) == (0, 0, 0, 0)
    assert vacias.porcentaje_automatico is None and vacias.ultima_importacion is None and vacias.estados_hasta is None

    ImportacionSmartflex.objects.create(
        clase="solicitudes", archivo="x.csv", nombre="solicitudes.csv", usuario=u.coc, etapa="terminada"
    )
    imp = _poblar_cifras(esc, u)
    Diferencia.objects.filter(clase=C.EJECUTADA_EN_SMARTFLEX).update(detectada_at=hace(days=60))
    c = diferencias.cifras(ind.Periodo.actual())
    assert c.faltantes == 3  # 2 anuladas en Smartflex + 1 sin caso, still open
    assert c.abiertas == 5
    assert c.abiertas_por_clase == {
        "anulada_en_smartflex": 2,
        "sin_caso": 1,
        "anulada_en_aplicacion": 1,
        "ejecutada_en_smartflex": 1,
    }
    assert c.detectadas == 6  # the ejecutada was detected 60 days ago
    assert (c.resueltas, c.resueltas_automaticas) == (2, 1)
    assert (c.vinculadas, c.vinculadas_automaticas, c.porcentaje_automatico) == (2, 1, 50.0)
    assert c.ultima_importacion == diferencias.UltimaImportacion(imp.pk, "estados-hoy.csv", imp.terminado_at)
    assert c.estados_hasta == EstadoSmartflex.objects.order_by("-fecha").first().fecha

    siempre = diferencias.cifras()
    assert (siempre.detectadas, siempre.vinculadas, siempre.porcentaje_automatico) == (7, 3, 33.3)
    otro = diferencias.cifras(ind.Periodo.mes(2020, 1))
    assert (otro.detectadas, otro.resueltas, otro.vinculadas, otro.faltantes) == (0, 0, 0, 3)


def test_cifras_en_un_numero_fijo_de_consultas(esc, u):
    periodo = ind.Periodo.actual()
    with CaptureQueriesContext(connection) as vacias:
        diferencias.cifras(periodo)
    _poblar_cifras(esc, u, n=3)
    with CaptureQueriesContext(connection) as llenas:
        diferencias.cifras(periodo)
    assert len(llenas) == len(vacias) <= 4


# --- the round trip: the export to Smartflex ---------------------------------------------------------
def _exportar(client, u, desde=None, hasta=None):
    client.force_login(u.gestion_red)
    hoy = timezone.localdate().isoformat()
    r = client.get("/exportar/smartflex.csv", {"desde": desde or hoy, "hasta": hasta or hoy})
    assert r.status_code == 200 and r.streaming
    texto = b"".join(r.streaming_content).decode("utf-8-sig")
    filas = list(csv.reader(io.StringIO(texto)))
    assert filas[0] == importacion.COLUMNAS_EXPORTACION
    return [dict(zip(filas[0], f, strict=True)) for f in filas[1:]]


def test_la_columna_origen_va_al_final():
    assert importacion.COLUMNAS_EXPORTACION == [
        "numero_smartflex",
        "numero_ot",
        "accion",
        "fecha",
        "motivo",
        "nuevo_numero_smartflex",
        "zona",
        "asesor",
        "origen",
    ]


def test_exportacion_lleva_lo_que_resolvio_la_conciliacion(client, esc, u):
    # The application's own cancellation: origen aplicacion.
    propia = esc.solicitud("anulada")
    # Cancelled in the application three days ago, still alive in Smartflex, flagged today.
    vieja = esc.solicitud("observada")
    T.aplicar(vieja, "anular", u.coc, motivo="Cliente desiste", justificacion="Llamó", ocurrido_at=hace(days=3))
    vieja.refresh_from_db()
    d1 = diferencia(C.ANULADA_EN_APLICACION, fuente(vieja.numero_smartflex, "registrada", solicitud=vieja), vieja)
    diferencias.resolver(d1.pk, "error_smartflex", u.coc, nota="Smartflex no la anuló")
    # Cancelled in the application today and flagged today: one row only (the application's).
    hoy = esc.solicitud("anulada")
    d2 = diferencia(C.ANULADA_EN_APLICACION, fuente(hoy.numero_smartflex, "registrada", solicitud=hoy), hoy)
    diferencias.resolver(d2.pk, "error_smartflex", u.coc, nota="Pendiente en Smartflex")
    # Smartflex says cancelled; the application knows it is being installed.
    viva = esc.solicitud("en_instalacion")
    d3 = anulada_en_smartflex(viva)
    diferencias.resolver(d3.pk, "error_smartflex", u.gestion_red, nota="El cliente confirmó la instalación")
    # Smartflex cancelled a number the application never had, and that is its error.
    d4 = sin_caso("=HYPERLINK(1)", zona="Z7", asesor="@vendedor")
    diferencias.resolver(d4.pk, "error_smartflex", u.gestion_red, nota="Número de prueba")
    # Smartflex says the OT was executed; it is still assigned here.
    o = esc.orden("asignada")
    # (The import linked the feed's row to the Solicitud; the difference names none.)
    d5 = diferencia(C.EJECUTADA_EN_SMARTFLEX, fuente(o.numero, "ejecutada", objeto="ot", solicitud=o.solicitud))
    diferencias.resolver(d5.pk, "error_smartflex", u.gestion_red, nota="El técnico no fue")
    # Smartflex's cancellation recorded by reconciliation (earlier today): the application's rows.
    registrada = esc.solicitud()
    d6 = anulada_en_smartflex(registrada, fecha=hace(minutes=30))
    diferencias.resolver(d6.pk, "registrar_anulacion", u.gestion_red)
    d7 = sin_caso("SF-700001", fecha=hace(minutes=20))
    diferencias.resolver(d7.pk, "crear_caso", u.gestion_red)
    # A re-entry linked by the pairing: its re-digitation row comes from reconciliation.
    redigitada = esc.solicitud("redigitada")
    Emparejamiento.objects.create(
        anulada=redigitada,
        nueva=redigitada.reemplazada_por,
        confianza=95,
        estado="vinculado",
        resuelto_at=timezone.now(),
    )

    filas = _exportar(client, u)
    por_numero = {}
    for f in filas:
        por_numero.setdefault(f["numero_smartflex"] or f["numero_ot"], []).append(f)

    assert [f["origen"] for f in por_numero[propia.numero_smartflex]] == ["aplicacion"]
    assert por_numero[vieja.numero_smartflex] == [
        {
            "numero_smartflex": vieja.numero_smartflex,
            "numero_ot": vieja.orden.numero,
            "accion": "ANULACION",
            "fecha": timezone.localtime(vieja.anulada_at).strftime("%Y-%m-%d %H:%M:%S"),
            "motivo": "Cliente desiste",
            "nuevo_numero_smartflex": "",
            "zona": "Z1",
            "asesor": "asesor",
            "origen": "conciliacion",
        }
    ]
    assert [(f["accion"], f["origen"]) for f in por_numero[hoy.numero_smartflex]] == [("ANULACION", "aplicacion")]
    (f3,) = por_numero[viva.numero_smartflex]
    assert f3["accion"] == "CORREGIR_EN_SMARTFLEX" and f3["origen"] == "conciliacion"
    assert f3["motivo"] == (
        "En la aplicación: solicitud «En instalación», OT «Asignada». Nota: El cliente confirmó la instalación"
    )
    (f4,) = por_numero["'=HYPERLINK(1)"]  # Smartflex's own text, kept as text
    assert (f4["accion"], f4["numero_ot"], f4["zona"], f4["asesor"]) == (
        "CORREGIR_EN_SMARTFLEX",
        "",
        "Z7",
        "'@vendedor",
    )
    assert f4["motivo"] == "En la aplicación: sin solicitud ni OT. Nota: Número de prueba"
    (f5,) = por_numero[o.solicitud.numero_smartflex]
    assert f5["numero_ot"] == o.numero and f5["accion"] == "CORREGIR_EN_SMARTFLEX"
    assert "OT «Asignada»" in f5["motivo"]
    for s in (registrada, Solicitud.objects.get(numero_smartflex="SF-700001")):
        assert [(f["accion"], f["origen"]) for f in por_numero[s.numero_smartflex]] == [("ANULACION", "conciliacion")]
    assert [(f["accion"], f["origen"]) for f in por_numero[redigitada.numero_smartflex]] == [
        ("REDIGITACION", "conciliacion")
    ]
    assert len(filas) == 9


def test_exportacion_del_periodo_de_la_decision(client, esc, u):
    s = esc.solicitud()
    dif = anulada_en_smartflex(s)
    diferencias.resolver(dif.pk, "error_smartflex", u.coc, nota="Vigente")
    assert _exportar(client, u, "2020-01-01", "2020-01-31") == []
    assert [f["accion"] for f in _exportar(client, u)] == ["CORREGIR_EN_SMARTFLEX"]


def test_exportacion_en_un_numero_fijo_de_consultas(esc, u):
    hoy = timezone.localdate()

    def consultas():
        list(importacion.exportacion(hoy, hoy))  # warm the content type cache
        with CaptureQueriesContext(connection) as c:
            filas = list(importacion.exportacion(hoy, hoy))
        return len(c), len(filas)

    vacia, n = consultas()
    assert n == 1
    for _ in range(3):
        diferencias.resolver(
            anulada_en_smartflex(esc.solicitud()).pk, "error_smartflex", u.coc, nota="Vigente en la aplicación"
        )
        diferencias.resolver(sin_caso(f"SF-6{next(_claves):05d}").pk, "error_smartflex", u.coc, nota="Prueba")
        reciente = anulada_en_smartflex(esc.solicitud(), fecha=hace(minutes=5))
        diferencias.resolver(reciente.pk, "registrar_anulacion", u.coc)
        esc.solicitud("anulada")
    llena, n = consultas()
    assert n == 1 + 3 * 4 and llena == vacia


# --- two people at once (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "segunda", [("registrar_anulacion", ""), ("error_smartflex", "Smartflex se equivocó")], ids=["misma", "otra"]
)
def test_dos_personas_resuelven_la_misma_a_la_vez_gana_una(esc, u, segunda):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): row locks across connections")
    s = esc.solicitud("observada")
    dif = anulada_en_smartflex(s)
    resultados = _a_la_vez(
        lambda: diferencias.resolver(dif.pk, "registrar_anulacion", u.gestion_red),
        lambda: diferencias.resolver(dif.pk, segunda[0], u.coc, nota=segunda[1]),
    )
    assert sorted(r[0] for r in resultados) == ["error", "ok"], resultados
    perdedor = next(r[1] for r in resultados if r[0] == "error")
    assert isinstance(perdedor, Conflicto) and "ya fue resuelta por" in perdedor.mensaje
    dif.refresh_from_db()
    s.refresh_from_db()
    assert dif.estado != "abierta"
    anulaciones_auditadas = RegistroAuditoria.de_objeto(s).filter(transicion="anular").count()
    assert anulaciones_auditadas == (1 if dif.estado == "anulacion_registrada" else 0)
    assert s.estado == ("anulada" if anulaciones_auditadas else "observada")


# --- the list stays true: the other rows of a Solicitud, the application's own path ------------------
def test_registrar_la_anulacion_de_la_solicitud_quita_la_diferencia_de_su_ot(esc, u):
    """Smartflex reported the Solicitud and its OT cancelled: two differences. Recording the
    cancellation once (it takes the OT with it) leaves none open."""
    s = esc.solicitud("registrada")
    de_solicitud = anulada_en_smartflex(s)
    de_ot = diferencia(C.ANULADA_EN_SMARTFLEX, fuente(s.orden.numero, objeto="ot", solicitud=s), s)
    diferencias.resolver(de_solicitud.pk, diferencias.REGISTRAR_ANULACION, u.gestion_red)
    assert not Diferencia.objects.filter(pk=de_ot.pk).exists()
    assert list(Diferencia.objects.filter(estado="abierta")) == []


def test_la_aplicacion_que_se_pone_al_dia_quita_la_diferencia_abierta(esc, u):
    """The COC cancels in the application the Solicitud Smartflex already reported cancelled: the
    beat's review removes the open difference (nobody decided on it: it just stopped holding),
    and keeps the one that still holds."""
    s = esc.solicitud("registrada")
    otra = esc.solicitud("registrada")
    ya_no = anulada_en_smartflex(s)
    sigue = anulada_en_smartflex(otra)
    T.aplicar(s, "anular", u.coc, motivo="Cliente desiste", justificacion="Llamó para desistir")
    assert diferencias.revisar_abiertas() == (0, 1)
    assert list(Diferencia.objects.values_list("pk", flat=True)) == [sigue.pk]
    assert not Diferencia.objects.filter(pk=ya_no.pk).exists()


def test_exportacion_una_anulacion_aunque_su_solicitud_y_su_ot_se_marquen(client, esc, u):
    """Review finding: the Solicitud's and its OT's rows both «anulada en la aplicación» and both
    marked as Smartflex's error gave two identical ANULACION rows. Cancelled in an earlier period
    (so the export's own row of the cancellation is not in this one), it goes back once."""
    s = esc.solicitud("registrada")
    T.aplicar(s, "anular", u.coc, motivo="Desiste", justificacion="Llamó", ocurrido_at=hace(days=400))
    s.refresh_from_db()
    for f in (
        fuente(s.numero_smartflex, "registrada", solicitud=s),
        fuente(s.orden.numero, "registrada", objeto="ot", solicitud=s),
    ):
        dif = diferencia(C.ANULADA_EN_APLICACION, f, s)
        diferencias.resolver(dif.pk, "error_smartflex", u.coc, nota="Anulada aquí")
    filas = _exportar(client, u)
    assert [(f["numero_smartflex"], f["accion"]) for f in filas] == [(s.numero_smartflex, "ANULACION")]


def test_crear_caso_con_un_numero_largo_o_una_ot_ya_tomada(esc, u):
    """Review finding: a 30-character Smartflex number made an OT-<N°> of 33 characters (a 500
    on PostgreSQL), and an OT number already taken failed as «registered meanwhile» forever."""
    largo = "SF-" + "9" * 27
    dif = sin_caso(largo)
    diferencias.resolver(dif.pk, diferencias.CREAR_CASO, u.gestion_red)
    s = Solicitud.objects.get(numero_smartflex=largo)
    assert (s.estado, s.orden.numero) == ("anulada", largo)
    otra = esc.solicitud("registrada")
    OrdenDeTrabajo.objects.filter(pk=otra.orden.pk).update(numero="OT-SF-LIBRE")  # Smartflex's own OT number
    tomada = sin_caso("SF-LIBRE")
    with pytest.raises(TransicionNoPermitida, match="Ya existe la OT"):
        diferencias.resolver(tomada.pk, diferencias.CREAR_CASO, u.gestion_red)
    assert Diferencia.objects.get(pk=tomada.pk).estado == "abierta"
