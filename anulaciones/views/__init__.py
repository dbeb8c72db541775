from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .roles import Rol, roles_de


@login_required
def inicio(request):
    roles = [Rol(r).label for r in roles_de(request.user) if r in Rol.values]
    return render(request, "inicio.html", {"roles": roles})
