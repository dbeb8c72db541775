import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_cada_rol_entra_y_ve_su_inicio(pagina, entrar, u):
    entrar(pagina, u.gestion_red)
    assert "Bienvenido" in pagina.content() or pagina.locator("h1").count() >= 1
