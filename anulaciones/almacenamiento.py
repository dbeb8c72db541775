"""Where uploaded and generated files live, so that every web and worker process reads them.

The Smartflex imports (``ImportacionSmartflex.archivo``) and the monthly workbooks
(``Entrega.archivo``) are FileFields on the default storage (``STORAGES["default"]``, chosen in
config/settings/base.py by ``ANULACIONES_ALMACENAMIENTO``):

- ``bd`` (default when the database is PostgreSQL): :class:`AlmacenamientoBD`, the bytes in a
  table (``ArchivoGuardado``) of the application's own database. No server to add, backed up with
  the data, and written in the caller's transaction: a workbook whose delivery rolls back leaves no
  file behind. Files are read and written whole, in memory: they are bounded by the upload limit
  (``ANULACIONES_IMPORTACION_MAX_MB``, 20 MB) and the monthly workbook (a few MB).
- ``s3``: :class:`AlmacenamientoS3`, an S3-compatible bucket through django-storages (installed
  separately: ``pip install "django-storages[s3]==1.14.6"``), private objects.
- ``disco`` (default with SQLite, one machine): :class:`AlmacenamientoLocal`, ``MEDIA_ROOT``.

No file is ever served publicly: ``url()`` of every backend is the application's own
authenticated page for the record that holds the file (the delivery's download, the import's
report), never a media URL or a pre-signed bucket link.
"""

import os

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.deconstruct import deconstructible

INTENTOS = 20  # names tried when a concurrent save takes the one chosen


class UrlDeLaAplicacion:
    """``url(name)``: the authenticated page of the record that holds the file."""

    def url(self, name):
        from django.urls import reverse

        from .models import Entrega, ImportacionSmartflex

        for modelo, vista in ((Entrega, "entrega_descargar"), (ImportacionSmartflex, "importacion")):
            pk = modelo.objects.filter(archivo=name).values_list("pk", flat=True).first()
            if pk is not None:
                return reverse(vista, args=[pk])
        return ""


@deconstructible(path="anulaciones.almacenamiento.AlmacenamientoBD")
class AlmacenamientoBD(UrlDeLaAplicacion, Storage):
    """Files as rows of ``ArchivoGuardado`` (name unique, bytes, size) in the database."""

    def __init__(self, using=None):
        self.using = using

    def _modelo(self):
        from .models import ArchivoGuardado

        return ArchivoGuardado

    def _bd(self, escribir=False):
        modelo = self._modelo()
        return self.using or (router.db_for_write(modelo) if escribir else router.db_for_read(modelo))

    def _filas(self, escribir=False):
        return self._modelo().objects.using(self._bd(escribir))

    @staticmethod
    def _validar(name):
        name = str(name).replace("\\", "/")
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise SuspiciousFileOperation(f"Nombre de archivo no admitido: {name!r}")
        return name

    def _binario(self, alias):
        """A psycopg cursor that sends and receives bytea as binary (PostgreSQL), on the same
        connection and transaction as the ORM; None elsewhere. Django's cursors bind parameters
        client-side, as text: a file would travel as a hex literal twice its size (docs/bench.md)."""
        conexion = connections[alias]
        if conexion.vendor != "postgresql":
            return None
        import psycopg

        conexion.ensure_connection()
        return psycopg.Cursor(conexion.connection)

    def _open(self, name, mode="rb"):
        if any(m in mode for m in "wa+"):
            raise ValueError("AlmacenamientoBD abre los archivos solo para leer; guárdelos con save().")
        name = self._validar(name)
        alias = self._bd()
        cursor = self._binario(alias)
        if cursor is None:
            contenido = self._filas().filter(nombre=name).values_list("contenido", flat=True).first()
        else:
            conexion = connections[alias]
            with cursor, conexion.wrap_database_errors:
                cursor.execute(
                    f"SELECT contenido FROM {conexion.ops.quote_name(self._modelo()._meta.db_table)} WHERE nombre = %s",
                    [name],
                    binary=True,
                )
                fila = cursor.fetchone()
            contenido = fila[0] if fila else None
        if contenido is None:
            raise FileNotFoundError(f"No existe el archivo guardado {name!r}.")
        return ContentFile(bytes(contenido), name=name)

    def _insertar(self, alias, name, datos):
        cursor = self._binario(alias)
        if cursor is None:
            self._filas(escribir=True).create(nombre=name, contenido=datos, tamano=len(datos))
            return
        conexion = connections[alias]
        with cursor, conexion.wrap_database_errors:  # psycopg's UniqueViolation -> IntegrityError
            cursor.execute(
                f"INSERT INTO {conexion.ops.quote_name(self._modelo()._meta.db_table)} "
                "(nombre, contenido, tamano, creado_at) VALUES (%s, %b, %s, %s)",
                [name, datos, len(datos), timezone.now()],
            )

    def _save(self, name, content):
        try:
            content.seek(0)
            datos = content.read()  # one copy, not a list of chunks and their join
        except (AttributeError, OSError, ValueError):  # not seekable: whatever chunks() yields
            datos = b"".join(content.chunks())
        if isinstance(datos, str):
            datos = datos.encode()
        name = original = self._validar(name)
        alias = self._bd(escribir=True)
        largo = self._modelo()._meta.get_field("nombre").max_length
        for _ in range(INTENTOS):
            try:
                with transaction.atomic(using=alias):  # a savepoint inside the caller's transaction
                    self._insertar(alias, name, datos)
                return name
            except IntegrityError:  # another process saved the same name meanwhile: take another one
                name = self.get_available_name(self.get_alternative_name(*os.path.splitext(original)), largo)
        raise IntegrityError(f"No se encontró un nombre libre para {original!r}.")

    def exists(self, name):
        return self._filas().filter(nombre=self._validar(name)).exists()

    def delete(self, name):
        if name:
            self._filas(escribir=True).filter(nombre=self._validar(name)).delete()

    def size(self, name):
        tamano = self._filas().filter(nombre=self._validar(name)).values_list("tamano", flat=True).first()
        if tamano is None:
            raise FileNotFoundError(f"No existe el archivo guardado {name!r}.")
        return tamano

    def listdir(self, path):
        prefijo = str(path).strip("/")
        prefijo = f"{prefijo}/" if prefijo else ""
        carpetas, archivos = set(), []
        for nombre in self._filas().filter(nombre__startswith=prefijo).values_list("nombre", flat=True):
            resto = nombre[len(prefijo) :]
            if "/" in resto:
                carpetas.add(resto.split("/", 1)[0])
            else:
                archivos.append(resto)
        return sorted(carpetas), sorted(archivos)

    def get_created_time(self, name):
        creado = self._filas().filter(nombre=self._validar(name)).values_list("creado_at", flat=True).first()
        if creado is None:
            raise FileNotFoundError(f"No existe el archivo guardado {name!r}.")
        return creado

    get_modified_time = get_accessed_time = get_created_time


@deconstructible(path="anulaciones.almacenamiento.AlmacenamientoLocal")
class AlmacenamientoLocal(UrlDeLaAplicacion, FileSystemStorage):
    """``MEDIA_ROOT`` on the local disk (SQLite: one machine), served only through the app."""


def __getattr__(nombre):
    # The S3 backend is defined on first use, so that django-storages (and boto3) are needed
    # only where ANULACIONES_ALMACENAMIENTO=s3.
    if nombre != "AlmacenamientoS3":
        raise AttributeError(nombre)
    from storages.backends.s3 import S3Storage

    clase = type(
        "AlmacenamientoS3",
        (UrlDeLaAplicacion, S3Storage),
        {
            "__module__": __name__,
            "__doc__": "An S3-compatible bucket (django-storages), private objects, served only through the app.",
        },
    )
    globals()[nombre] = clase
    return clase
