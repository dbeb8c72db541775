import os

from django.core.wsgi import get_wsgi_application

# gunicorn config.wsgi serves production unless DJANGO_SETTINGS_MODULE names another profile.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
