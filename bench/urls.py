from django.urls import path

from config.urls import urlpatterns as proyecto

from .views import fila

urlpatterns = [path("bench/fila/<int:pk>/", fila, name="bench-fila"), *proyecto]
