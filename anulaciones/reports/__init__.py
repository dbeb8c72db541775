"""Reports: read and render only. ``indicador`` (the indicator of III.2), ``workbook`` (the
delivery's xlsx, 21.1) and ``svg`` (the indicator's trend chart). The deliveries themselves —
built, e-mailed, watched at the month end — are the service ``anulaciones.entregas``.
"""

from ..roles import Rol

# Who reads the indicator (its page, its exports and the navigation bar).
ROLES_INDICADOR = frozenset({Rol.JEFE_DIVISION, Rol.GESTION_RED, Rol.COC})
