"""Issue 15, items 9 and 13 in the browser: each demo user logs in, finds work waiting on the
home page (a card of a queue, or a late month) and reads it in Spanish — no «caso(s)», no
misspelt plural, the OT prefix once — and the first card opens the case or list it names."""

import re

import pytest
from django.core.management import call_command

from anulaciones.management.commands.demo_data import DEMO_PASSWORD

from .test_demo import USUARIOS

PLURAL_ENTRE_PARENTESIS = re.compile(r"\w\((?:s|es)\)")
ERRATAS = ("zonificaciónes", "ordenes", "OT OT-")


@pytest.mark.django_db(transaction=True)
def test_cada_usuario_de_la_demo_ve_su_trabajo_en_espanol(pagina):
    from django.contrib.auth.models import Group

    from anulaciones.roles import Rol

    for rol in Rol.values:  # a transactional test may run after another one flushed the migrations' groups
        Group.objects.get_or_create(name=rol)
    call_command("demo_data", casos=40, seed=7)
    p = pagina
    for rol, usuario in USUARIOS.items():
        p.context.clear_cookies()
        p.goto("/cuentas/login/")
        p.fill("#id_username", usuario)
        p.fill("#id_password", DEMO_PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_url(lambda url: "/cuentas/login/" not in url)
        principal = p.locator("main")
        texto = principal.inner_text()
        assert not PLURAL_ENTRE_PARENTESIS.search(texto), (rol, PLURAL_ENTRE_PARENTESIS.findall(texto))
        assert not [e for e in ERRATAS if e in texto], rol
        trabajo = principal.locator("ul.tarjetas li a, #meses-atrasados li")
        assert trabajo.count() > 0, f"{rol}: nothing waiting on the home page"
        enlace = principal.locator("ul.tarjetas li a").first
        if enlace.count():
            destino = enlace.get_attribute("href")
            enlace.click()
            p.wait_for_load_state()
            assert p.url.split("#")[0].endswith(destino.split("#")[0]), (rol, destino, p.url)
            assert "Error" not in p.title()
