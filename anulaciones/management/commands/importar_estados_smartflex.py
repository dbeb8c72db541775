import os

from django.core.files import File
from django.core.management.base import CommandError

from anulaciones import conciliacion
from anulaciones.errors import DatosInvalidos
from anulaciones.models import ImportacionSmartflex

from .importar_smartflex import Command as ImportarSmartflex


class Command(ImportarSmartflex):
    """The Smartflex import's command, for a status feed (issue 18, docs/smartflex.md). The feed
    becomes an import job like an upload's, run here in the foreground: the reconciliation page and
    the indicator say as of which feed they are reconciled, whichever way it came."""

    help = (
        "Importa un archivo de estados de Smartflex (CSV o XLSX) y detecta las diferencias con la aplicación "
        "(conciliación). Con errores no importa nada, salvo con --aceptar-validas. Columnas: docs/smartflex.md."
    )

    def handle(self, *args, archivo, aceptar_validas, usuario, **opts):
        user = self.usuario_de(usuario)
        self.comprobar(archivo)
        try:
            with open(archivo, "rb") as f:
                imp = conciliacion.subir_estados(
                    File(f, name=os.path.basename(archivo)), user, aceptar_validas=aceptar_validas, encolar=False
                )
        except DatosInvalidos as e:
            raise CommandError(" ".join(e.errores.values()) or e.mensaje) from None
        conciliacion.ejecutar(imp.pk)
        imp.refresh_from_db()
        self.informar(imp.errores, imp.avisos, imp.mensaje, imp.etapa == ImportacionSmartflex.Etapa.TERMINADA)
