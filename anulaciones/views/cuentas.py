"""Accounts: login, password change and password reset, throttled by django-axes.

axes counts failures in the database (``AccessAttempt`` rows, its default handler), so every web
process on every machine sees the same count: after ``ANULACIONES_LOGIN_INTENTOS`` failures for one
username from one address within ``ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS``, that pair is refused —
even with the right password — until the cool-off has passed since the last failure. The refusal
is a Spanish page with HTTP 429 (Too Many Requests) and ``Retry-After``.

- Login (``/cuentas/login/``, and the admin's login: same ``authenticate``): ``BackendBloqueo``
  refuses a locked pair, axes' signal handler counts the failure, its middleware answers the page.
- Password change: a wrong *current* password counts as a failed login of that user from that
  address (it is a password guess too), and a locked pair cannot change its password.
- Password reset (``/cuentas/password_reset/``): each request counts once for the e-mail address
  (from any address) and once for the client's address (any e-mail); past the limit the form is
  refused with the same page. No e-mail is sent then, and the answer never says whether the
  address belongs to a user.
"""

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.validators import MaxLengthValidator
from django.shortcuts import render

from ..forms import EntrarForm

# Keys of the reset counters in axes' table (its "username" column): never a real username's
# lock, since the login's lockout is per username AND address, and these carry their own rule.
PREFIJO_CORREO = "restablecer:"
CLAVE_IP = "restablecer-ip"


# --- axes configuration (settings.AXES_*: dotted paths to these) ---------------------------------
def limite_intentos(request, credenciales=None):
    return settings.ANULACIONES_LOGIN_INTENTOS


def tiempo_bloqueo(request=None):
    return timedelta(seconds=settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS)


def parametros_bloqueo(request, credenciales=None):
    """Login, admin login, password change: username + address together. Password reset: the
    e-mail alone (``restablecer:<e-mail>``, from any address) and the address alone (the fixed
    key ``restablecer-ip`` + address)."""
    if (credenciales or {}).get("restablecer") == "correo":
        return ["username"]
    return [["username", "ip_address"]]


def respuesta_bloqueo(request, respuesta_original=None, credenciales=None):
    """The lockout page: HTTP 429 with ``Retry-After`` (seconds of the cool-off)."""
    segundos = int(get_cool_off(request).total_seconds())
    restablecer = bool(credenciales and credenciales.get("restablecer"))
    respuesta = render(
        request,
        "registration/bloqueado.html",
        {
            "minutos": max(1, math.ceil(segundos / 60)),
            "restablecer": restablecer,
        },
        status=429,
    )
    respuesta["Retry-After"] = str(segundos)
    return respuesta


class BackendBloqueo(AxesStandaloneBackend):
    """axes' check as the first authentication backend: a locked-out username + address is refused
    before any password is compared. A call without a request (``Client.login`` in tests, a shell)
    has no address to count and is not throttled; every login form passes its request."""

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# --- views -------------------------------------------------------------------------------------
class EntrarView(auth_views.LoginView):
    form_class = EntrarForm
    template_name = "registration/login.html"

    def get_form(self, form_class=None):
        """A username longer than any account's is refused by the form (Django sets its
        max_length without a validator): ``authenticate`` never sees it, so axes never stores it
        (its column holds 255; 10,000 characters were a DataError, a 500, on PostgreSQL)."""
        form = super().get_form(form_class)
        campo = form.fields["username"]
        campo.validators.append(MaxLengthValidator(campo.max_length or 150))
        return form


class CambiarContrasenaView(auth_views.PasswordChangeView):
    """A wrong current password is a failed login of this user from this address."""

    def _credenciales(self):
        return {"username": self.request.user.get_username()}

    def post(self, request, *args, **kwargs):
        if not AxesProxyHandler.is_allowed(request, self._credenciales()):
            return respuesta_bloqueo(request, credenciales=self._credenciales())
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password"):
            AxesProxyHandler.user_login_failed(type(self), self._credenciales(), self.request)
            if getattr(self.request, "axes_locked_out", False):
                self.request.axes_locked_out = False  # answered here, not by axes' middleware
                return respuesta_bloqueo(self.request, credenciales=self._credenciales())
        return super().form_invalid(form)


def _credenciales_restablecer(correo):
    correo = (correo or "").strip().lower()[:240]
    return [{"username": PREFIJO_CORREO + correo, "restablecer": "correo"}, {"username": CLAVE_IP, "restablecer": "ip"}]


class RestablecerView(auth_views.PasswordResetView):
    """Password reset, at most ``ANULACIONES_LOGIN_INTENTOS`` requests per e-mail address and per
    client address in ``ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS``."""

    template_name = "registration/password_reset_form.html"

    def form_valid(self, form):
        claves = _credenciales_restablecer(form.cleaned_data.get("email"))
        for credenciales in claves:
            if not AxesProxyHandler.is_allowed(self.request, credenciales):
                return respuesta_bloqueo(self.request, credenciales=credenciales)
        for credenciales in claves:
            AxesProxyHandler.user_login_failed(type(self), credenciales, self.request)
        # This request is within the limit (the next one is refused): axes' middleware must not
        # turn its answer into the lockout page.
        self.request.axes_locked_out = False
        return super().form_valid(form)
