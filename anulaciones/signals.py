from django.dispatch import Signal

# Sent after the transaction of a transition commits, once per audit row.
# kwargs: registro (RegistroAuditoria), objeto (the machine instance, as saved).
transicion_realizada = Signal()

# Sent inside the transaction of a transition, right after its audit row is written (before the
# commit): what must be written with the change (the notices of anulaciones.notificaciones). A
# receiver that raises undoes the transition. kwargs: as transicion_realizada.
transicion_auditada = Signal()

# Sent after the transaction of ``transitions.aplicar_en_bloque`` commits, once per call.
# kwargs: registros (the audit rows), pks (the changed objects' pks).
transiciones_en_bloque = Signal()
