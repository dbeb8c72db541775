"""Backups that restore (issue 20, item 5; docs/operaciones.md "Backups").

    manage.py respaldo crear [--directorio DIR]
        pg_dump -Fc of the configured database into DIR/anulaciones-<UTC time>.dump, a tar of
        MEDIA_ROOT beside it when the files are on disk (ANULACIONES_ALMACENAMIENTO=disco; with
        ``bd`` they are rows of the dump, with ``s3`` the bucket is backed up by its own
        versioning), and a manifest <same name>.json: date, app version, migration head, row
        counts of the main tables, the current month's indicator, the dump's SHA-256.

    manage.py respaldo restaurar DIR/anulaciones-<time>.json [--destino URL] [--media DIR] [--crear-bd]
        pg_restore into an EMPTY database (refused otherwise: a restore never merges into live
        data), the files into an empty MEDIA_ROOT, then ``verificar``.

    manage.py respaldo verificar DIR/anulaciones-<time>.json [--destino URL]
        The manifest's figures computed again on the database (in a child process with
        DATABASE_URL=URL, so the very code of the application reads it) and compared.

    manage.py respaldo manifiesto [--mes AAAA-MM]
        The figures of the configured database as JSON (what ``verificar`` runs).

PostgreSQL only: with SQLite (the embedded local mode) copy the file with
``sqlite3 db.sqlite3 ".backup respaldo.sqlite3"``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlsplit

import dj_database_url
import psycopg
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from psycopg import sql

from ...reports import indicador as ind

# One line per backup made (JSON in production): a log alert can watch that one arrives nightly.
log = logging.getLogger("anulaciones.respaldo")

# The tables whose row counts a restore must reproduce (app_label.Model).
TABLAS = (
    "anulaciones.Caso",
    "anulaciones.Solicitud",
    "anulaciones.OrdenDeTrabajo",
    "anulaciones.ServicioIngenieria",
    "anulaciones.Zonificacion",
    "anulaciones.Observacion",
    "anulaciones.IntentoContacto",
    "anulaciones.Correccion",
    "anulaciones.RegistroAuditoria",
    "anulaciones.Notificacion",
    "anulaciones.Entrega",
    "anulaciones.ImportacionSmartflex",
    "anulaciones.ArchivoGuardado",
    "anulaciones.Zona",
    "anulaciones.Perfil",
    "auth.User",
)


# --- the figures a backup is checked against ---------------------------------------------------
def version_app() -> str:
    """``git describe`` of the checkout, when there is one (a release image may carry
    ANULACIONES_VERSION instead)."""
    if os.environ.get("ANULACIONES_VERSION"):
        return os.environ["ANULACIONES_VERSION"]
    try:
        r = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "desconocida"
    return r.stdout.strip() or "desconocida"


def cabeza_migraciones() -> dict[str, str]:
    """The last applied migration of each app (the highest name: names start with their number)."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    aplicadas = loader.applied_migrations or {}
    cabeza: dict[str, str] = {}
    for app, nombre in sorted(aplicadas):
        cabeza[app] = max(cabeza.get(app, ""), nombre)
    return cabeza


def conteos() -> dict[str, int]:
    return {etiqueta: apps.get_model(etiqueta)._default_manager.count() for etiqueta in TABLAS}


def ultima_auditoria() -> dict | None:
    modelo = apps.get_model("anulaciones.RegistroAuditoria")
    fila = modelo.objects.order_by("-pk").values().first()
    return json.loads(json.dumps(fila, default=str)) if fila else None


def figuras(periodo: ind.Periodo) -> dict:
    """What must be the same after a restore: migrations, row counts, the last audit row and
    the indicator of ``periodo`` (its total row: probables, anulados, abiertos, the figure)."""
    total = ind.informe(periodo)["total"]
    return {
        "migraciones": cabeza_migraciones(),
        "filas": conteos(),
        "ultima_auditoria": ultima_auditoria(),
        "indicador": {
            "desde": periodo.desde.isoformat(),
            "hasta": periodo.hasta.isoformat(),
            "total": json.loads(json.dumps(total, default=str)),
        },
    }


def diferencias(esperado: dict, obtenido: dict, ruta: str = "") -> list[str]:
    if isinstance(esperado, dict) and isinstance(obtenido, dict):
        res = []
        for clave in sorted(set(esperado) | set(obtenido)):
            res += diferencias(esperado.get(clave), obtenido.get(clave), f"{ruta}.{clave}" if ruta else clave)
        return res
    return [] if esperado == obtenido else [f"{ruta}: respaldo {esperado!r}, restaurada {obtenido!r}"]


# --- connection parameters ---------------------------------------------------------------------
def entorno_pg(db: dict) -> dict[str, str]:
    """libpq's environment for pg_dump/pg_restore: the password never on a command line (ps)."""
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError(
            "El respaldo es de PostgreSQL. Con SQLite (modo local) copie el archivo: "
            'sqlite3 db.sqlite3 ".backup respaldo.sqlite3".'
        )
    env = dict(os.environ)
    for variable, clave in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if db.get(clave):
            env[variable] = str(db[clave])
    if (db.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    return env


def url_de(db: dict) -> str:
    """A DATABASE_URL for the child process of ``verificar``."""
    usuario = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        usuario += ":" + quote(db["PASSWORD"], safe="")
    anfitrion = db.get("HOST") or "localhost"
    puerto = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{usuario}@{anfitrion}{puerto}/{quote(db['NAME'], safe='')}"


def bd_destino(url: str | None) -> dict:
    if not url:
        return dict(connection.settings_dict)
    db = dj_database_url.parse(url)
    if not db.get("NAME"):
        raise CommandError(f"--destino sin nombre de base de datos: {urlsplit(url)._replace(netloc='…').geturl()}")
    return db


def conectar(db: dict, nombre: str | None = None) -> psycopg.Connection:
    return psycopg.connect(
        dbname=nombre or db["NAME"],
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        sslmode=(db.get("OPTIONS") or {}).get("sslmode") or None,
        autocommit=True,
    )


def objetos_de_usuario(db: dict) -> int:
    """Relations, sequences, functions and types outside the system schemas: 0 in a database
    just created from template1."""
    with conectar(db) as c:
        fila = c.execute(
            """
            SELECT (SELECT count(*) FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
                     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                       AND n.nspname NOT LIKE 'pg_temp%')
                 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
            """
        ).fetchone()
    return int(fila[0]) if fila else 0


def sha256(ruta: Path) -> str:
    h = hashlib.sha256()
    with ruta.open("rb") as f:
        for bloque in iter(lambda: f.read(1 << 20), b""):
            h.update(bloque)
    return h.hexdigest()


def ejecutar(orden: list[str], env: dict[str, str]) -> None:
    if shutil.which(orden[0]) is None:
        raise CommandError(f"No se encuentra {orden[0]} (cliente de PostgreSQL, la misma versión mayor del servidor).")
    r = subprocess.run(orden, env=env, capture_output=True, text=True)
    if r.returncode:
        raise CommandError(f"{orden[0]} falló ({r.returncode}):\n{r.stderr.strip()}")


class Command(BaseCommand):
    help = "Respaldo y restauración: crear, restaurar (en una base vacía), verificar, manifiesto."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="accion", required=True)
        crear = sub.add_parser("crear", help="pg_dump -Fc, archivos en disco y manifiesto.")
        crear.add_argument(
            "--directorio",
            default=os.environ.get("ANULACIONES_RESPALDOS_DIR") or str(Path(settings.VAR_DIR) / "respaldos"),
            help="Carpeta de los respaldos (ANULACIONES_RESPALDOS_DIR; por omisión var/respaldos).",
        )
        restaurar = sub.add_parser("restaurar", help="Restaura un respaldo en una base de datos vacía y lo verifica.")
        restaurar.add_argument("manifiesto", help="El .json del respaldo (el .dump y el .media.tar.gz van al lado).")
        restaurar.add_argument("--destino", help="URL de la base vacía (por omisión DATABASE_URL).")
        restaurar.add_argument("--media", help="Carpeta vacía para los archivos en disco (por omisión MEDIA_ROOT).")
        restaurar.add_argument("--crear-bd", action="store_true", help="Crea la base de destino si no existe.")
        restaurar.add_argument("--sin-verificar", action="store_true")
        verificar = sub.add_parser("verificar", help="Compara el manifiesto con la base restaurada.")
        verificar.add_argument("manifiesto")
        verificar.add_argument("--destino", help="URL de la base restaurada (por omisión DATABASE_URL).")
        manifiesto = sub.add_parser("manifiesto", help="Las cifras de la base configurada, en JSON.")
        manifiesto.add_argument("--mes", help="AAAA-MM del indicador (por omisión el mes actual).")

    def handle(self, *args, accion, **opts):
        return getattr(self, accion)(**opts)

    # --- crear ---------------------------------------------------------------------------------
    def crear(self, directorio, **opts):
        db = connection.settings_dict
        env = entorno_pg(db)
        carpeta = Path(directorio)
        carpeta.mkdir(parents=True, exist_ok=True)
        ahora = timezone.now()
        base = carpeta / f"anulaciones-{ahora:%Y%m%d-%H%M%S}"
        volcado = base.with_suffix(".dump")
        # The manifest's figures first, then the dump: rows written in between appear in the dump
        # only, and `verificar` says so, instead of a manifest newer than its dump.
        periodo = ind.Periodo.actual()
        datos = {
            "creado_at": ahora.isoformat(),
            "version": version_app(),
            "base_de_datos": db["NAME"],
            "almacenamiento": settings.ANULACIONES_ALMACENAMIENTO,
            **figuras(periodo),
        }
        # -Fc: compressed, restored selectively and in parallel (pg_restore -j); --no-owner and
        # --no-privileges at restore time so that another role can own the copy.
        ejecutar(["pg_dump", "-Fc", "--no-password", "-f", str(volcado)], env)
        datos["volcado"] = {"archivo": volcado.name, "bytes": volcado.stat().st_size, "sha256": sha256(volcado)}
        if settings.ANULACIONES_ALMACENAMIENTO == "disco":
            media = base.with_suffix(".media.tar.gz")
            with tarfile.open(media, "w:gz") as tar:
                if Path(settings.MEDIA_ROOT).is_dir():
                    tar.add(settings.MEDIA_ROOT, arcname=".")
            datos["media"] = {"archivo": media.name, "bytes": media.stat().st_size, "sha256": sha256(media)}
        elif settings.ANULACIONES_ALMACENAMIENTO == "s3":
            datos["media"] = {"aviso": "Los archivos están en el bucket S3: respáldelo con su versionado."}
        manifiesto = base.with_suffix(".json")
        manifiesto.write_text(json.dumps(datos, indent=2, ensure_ascii=False, default=str) + "\n")
        log.info(
            "respaldo creado",
            extra={
                "campos": {
                    "respaldo": manifiesto.name,
                    "bytes": datos["volcado"]["bytes"],
                    "duracion_s": round((timezone.now() - ahora).total_seconds(), 1),
                }
            },
        )
        self.stdout.write(str(manifiesto))

    # --- restaurar -----------------------------------------------------------------------------
    def restaurar(self, manifiesto, destino=None, media=None, crear_bd=False, sin_verificar=False, **opts):
        ruta = Path(manifiesto)
        datos = json.loads(ruta.read_text())
        volcado = ruta.parent / datos["volcado"]["archivo"]
        if sha256(volcado) != datos["volcado"]["sha256"]:
            raise CommandError(f"{volcado}: el SHA-256 no es el del manifiesto (archivo dañado o cambiado).")
        db = bd_destino(destino)
        env = entorno_pg(db)
        if crear_bd:
            self._crear_bd(db)
        if objetos_de_usuario(db):
            raise CommandError(
                f"La base {db['NAME']} no está vacía: se restaura solo en una base recién creada "
                "(createdb, o --crear-bd), nunca sobre datos."
            )
        archivo_media = (datos.get("media") or {}).get("archivo")
        carpeta_media = Path(media or settings.MEDIA_ROOT)
        if archivo_media and carpeta_media.is_dir() and any(carpeta_media.iterdir()):
            raise CommandError(f"La carpeta {carpeta_media} no está vacía: indique una vacía con --media.")
        ejecutar(
            ["pg_restore", "--no-password", "--exit-on-error", "--no-owner", "--no-privileges", "-d", db["NAME"]]
            + [str(volcado)],
            env,
        )
        if archivo_media:
            carpeta_media.mkdir(parents=True, exist_ok=True)
            with tarfile.open(ruta.parent / archivo_media, "r:gz") as tar:
                tar.extractall(carpeta_media, filter="data")
        self.stdout.write(f"Restaurado en {db['NAME']}.")
        if not sin_verificar:
            self._verificar(datos, db)

    def _crear_bd(self, db):
        with conectar(db, "postgres") as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
                c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))

    # --- verificar -----------------------------------------------------------------------------
    def verificar(self, manifiesto, destino=None, **opts):
        self._verificar(json.loads(Path(manifiesto).read_text()), bd_destino(destino))

    def _verificar(self, datos, db):
        """The figures computed by a child process whose DATABASE_URL is the restored database:
        the application's own code and settings, nothing of this process's connection."""
        mes = datos["indicador"]["desde"][:7]
        r = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "respaldo", "manifiesto", "--mes", mes],
            env={**os.environ, "DATABASE_URL": url_de(db)},
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise CommandError(f"No se pudo leer la base restaurada:\n{r.stderr.strip()}")
        obtenido = json.loads(r.stdout.strip().splitlines()[-1])  # the last line: the JSON
        esperado = {clave: datos[clave] for clave in obtenido}
        malas = diferencias(esperado, obtenido)
        if malas:
            raise CommandError("La base restaurada no coincide con el manifiesto:\n" + "\n".join(malas))
        total = obtenido["indicador"]["total"]
        self.stdout.write(
            f"Verificado: {sum(obtenido['filas'].values())} filas en {len(obtenido['filas'])} tablas, "
            f"indicador de {mes} {total['indicador']['texto']} ({total['probables']} probables, "
            f"{total['anulados']} anulados), migraciones {obtenido['migraciones'].get('anulaciones')}."
        )

    # --- manifiesto ----------------------------------------------------------------------------
    def manifiesto(self, mes=None, **opts):
        if mes:
            try:
                dia = date.fromisoformat(f"{mes}-01")
            except ValueError:
                raise CommandError(f"--mes {mes!r}: use AAAA-MM.") from None
            periodo = ind.Periodo.mes(dia.year, dia.month)
        else:
            periodo = ind.Periodo.actual()
        self.stdout.write(json.dumps(figuras(periodo), ensure_ascii=False, default=str))
