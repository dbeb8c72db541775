from anulaciones import conciliacion

from .importar_smartflex import Command as ImportarSmartflex


class Command(ImportarSmartflex):
    """The Smartflex import's command, for a status feed (issue 18, docs/smartflex.md)."""

    importador = conciliacion
    help = (
        "Importa un archivo de estados de Smartflex (CSV o XLSX) y detecta las diferencias con la aplicación "
        "(conciliación). Con errores no importa nada, salvo con --aceptar-validas. Columnas: docs/smartflex.md."
    )
