"""Login with throttling: after N failed attempts for one username from one address, that
pair is locked out for a while (a counter in the cache; set CACHE_URL to Redis when several
processes serve the app)."""
import hashlib

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.core.cache import cache

from ..forms import EntrarForm


def _clave(request):
    usuario = (request.POST.get("username") or "").strip().lower()
    ip = request.META.get("REMOTE_ADDR", "")
    return "login-fallidos:" + hashlib.sha256(f"{usuario}|{ip}".encode()).hexdigest()


class EntrarView(LoginView):
    form_class = EntrarForm
    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        clave = _clave(request)
        if cache.get(clave, 0) >= settings.ANULACIONES_LOGIN_INTENTOS:
            form = self.get_form()
            form.errors.clear()
            minutos = max(1, settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS // 60)
            form.add_error(None, "Demasiados intentos fallidos para este usuario. "
                                 f"Espere {minutos} minutos antes de volver a intentar.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        clave = _clave(self.request)
        if cache.add(clave, 1, settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS) is False:
            try:
                cache.incr(clave)
            except ValueError:
                cache.set(clave, 1, settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete(_clave(self.request))
        return super().form_valid(form)
