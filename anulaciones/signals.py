from django.dispatch import Signal

# Sent after the transaction of a transition commits, once per audit row.
# kwargs: registro (RegistroAuditoria), objeto (the machine instance, as saved).
transicion_realizada = Signal()
