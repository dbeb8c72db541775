from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from anulaciones import importacion, transitions


class Command(BaseCommand):
    help = (
        "Importa un export de Smartflex (CSV o XLSX) de solicitudes y OTs. Con errores no importa nada, "
        "salvo con --aceptar-validas (importa las filas válidas). Columnas: docs/api.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("archivo")
        parser.add_argument(
            "--aceptar-validas", action="store_true", help="Importar las filas válidas aunque otras tengan errores."
        )
        parser.add_argument(
            "--usuario",
            help="Usuario (GESTION_RED o COC) a nombre de quien se audita. Por defecto, el usuario del sistema.",
        )

    def usuario_de(self, usuario):
        if not usuario:
            return transitions.usuario_sistema()
        try:
            return get_user_model().objects.get(username=usuario)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No existe el usuario {usuario}.") from None

    def comprobar(self, archivo):
        try:
            open(archivo, "rb").close()
        except OSError as e:
            raise CommandError(f"No se puede leer {archivo}: {e}") from None

    def informar(self, errores, avisos, resumen, importado):
        for e in errores:
            self.stdout.write(f"fila {e['fila']}, columna {e['columna'] or '-'}: {e['mensaje']}")
        for e in avisos:
            self.stdout.write(f"aviso fila {e['fila']}, columna {e['columna'] or '-'}: {e['mensaje']}")
        self.stdout.write(resumen)
        if not importado:
            raise CommandError("Importación rechazada: no se importó nada.")

    def handle(self, *args, archivo, aceptar_validas, usuario, **opts):
        user = self.usuario_de(usuario)
        self.comprobar(archivo)

        def progreso(r):
            if opts.get("verbosity", 1) > 1:
                self.stdout.write(f"  {r.procesadas} filas…")

        r = importacion.importar(archivo, user, aceptar_validas=aceptar_validas, nombre=archivo, progreso=progreso)
        self.informar(r.errores, r.avisos, importacion.resumen(r), r.importado)
