"""Issue 15, item 15: the embedded default (SQLite, `make run`) never loses a task to "database is
locked". The web server and the worker's processes each open their own connection to one file: with
the project's settings a writer that finds another transaction holding the write lock waits for it
(busy timeout) and then goes on, even when it read before writing, and the file is in WAL mode.

Run in a child process with DATABASE_URL pointing at a file, so that it is the project's own
configuration of SQLite that is tested, whatever database the test run itself uses."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent

GUION = textwrap.dedent("""
    import json, sys, threading, time
    import django
    django.setup()
    from django.db import connection, transaction

    with connection.cursor() as c:
        c.execute("CREATE TABLE aviso (id integer PRIMARY KEY, texto text)")
    retenido, tomado = threading.Event(), {}

    def otro_proceso():  # e.g. the web request writing a notice while the worker sends e-mail
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("INSERT INTO aviso (texto) VALUES ('del servidor web')")
            retenido.set()
            time.sleep(float(sys.argv[1]))  # holds the write lock
        connection.close()

    hilo = threading.Thread(target=otro_proceso)
    hilo.start()
    retenido.wait()
    inicio = time.monotonic()
    error = None
    try:
        with transaction.atomic():  # reads, then writes: what a task does
            with connection.cursor() as c:
                c.execute("SELECT count(*) FROM aviso")
                tomado["vistos"] = c.fetchone()[0]
                c.execute("INSERT INTO aviso (texto) VALUES ('del worker')")
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    espera = time.monotonic() - inicio
    hilo.join()
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM aviso")
        filas = c.fetchone()[0]
        c.execute("PRAGMA journal_mode")
        modo = c.fetchone()[0]
        c.execute("PRAGMA synchronous")
        sincronia = c.fetchone()[0]
        c.execute("PRAGMA busy_timeout")
        paciencia = c.fetchone()[0]
    print(json.dumps({"error": error, "espera": espera, "filas": filas, "modo": modo, "sincronia": sincronia,
                      "paciencia_ms": paciencia, **tomado}))
""")


def correr(tmp_path, retencion):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embebida.sqlite3'}",
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "PYTHONPATH": str(RAIZ),
    }
    salida = subprocess.run(
        [sys.executable, "-c", GUION, str(retencion)], cwd=RAIZ, env=env, capture_output=True, text=True, timeout=120
    )
    assert salida.returncode == 0, salida.stderr[-3000:]
    return json.loads(salida.stdout.strip().splitlines()[-1])


def test_un_escritor_espera_al_otro_en_vez_de_fallar_y_el_archivo_esta_en_wal(tmp_path):
    r = correr(tmp_path, 1.5)
    assert r["error"] is None, r["error"]  # no "database is locked"
    assert r["espera"] >= 1.0  # it waited for the other transaction to commit ...
    assert r["vistos"] == 1 and r["filas"] == 2  # ... then read what it wrote, and both rows are there
    assert r["modo"] == "wal"
    assert r["sincronia"] == 1  # NORMAL
    assert r["paciencia_ms"] >= 10_000  # a writer waits up to this long before giving up
