"""Settings profiles; DJANGO_SETTINGS_MODULE names one of them.

- ``config.settings.local``: the developer's machine (``manage.py``, ``make run``): embedded
  defaults — DEBUG on, SQLite file, filesystem Celery broker, plain http, e-mail on the console.
- ``config.settings.production``: gunicorn (``config.wsgi``) and the Celery workers: everything
  from environment variables, HTTPS and secure cookies, refuses to start without DJANGO_SECRET_KEY.
- ``config.settings.test``: pytest (pyproject.toml): tasks run in process unless
  CELERY_TASK_ALWAYS_EAGER=0 (the worker tests), a fixed secret key, plain http for the live server.

All three read the same environment variables (``config.settings.base``): DATABASE_URL,
CELERY_BROKER_URL, DJANGO_DEBUG… override their defaults in any profile. This package itself
holds no settings.
"""
