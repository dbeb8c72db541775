"""Demo data: zones, one user per role (username = role code in lower case), and a few hundred
cases spread over every state of every machine and over the last 3 months — all through the
transition path, each step at its own past moment, so their audit trails are real."""
import random
from datetime import datetime, time, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import Perfil, ServicioIngenieria, Solicitud, Zona
from anulaciones.roles import Rol

DEMO_PASSWORD = "demo1234"
ZONAS = [("LPZ-C", "La Paz Centro"), ("LPZ-S", "La Paz Zona Sur"), ("EAL-N", "El Alto Norte"),
         ("EAL-S", "El Alto Sur"), ("LPZ-M", "La Paz Miraflores"), ("VIA", "Viacha")]
CALLES = ["Av. 6 de Agosto", "Calle 21 de Calacoto", "Av. Juan Pablo II", "Calle Jaén", "Av. Buenos Aires",
          "Calle Murillo", "Av. Arce", "Calle Sagárnaga", "Av. Costanera", "Calle Linares", "Av. Busch"]
NOMBRES = ["Juana Mamani", "Carlos Quispe", "María Choque", "Luis Condori", "Rosa Huanca", "Jorge Limachi",
           "Ana Flores", "Pedro Apaza", "Elena Ticona", "Miguel Callisaya", "Sonia Poma", "Raúl Chambi"]
VENDEDORES = ["Pedro Vargas", "Lucía Rojas", "Marco Salinas", "Daniela Ortiz"]
CAUSAS = [("calle", "La calle no figura en el QGis"), ("caja_nap", "La NAP indicada está saturada"),
          ("datos_tecnicos", "Plan no disponible en la zona"), ("datos_cliente", "Documento del cliente errado"),
          ("equipos", "Equipo no corresponde al plan"), ("otro", "Dirección ambigua")]

# Final shapes of a case, weighted: each names the path through the seed it walks.
CAMINOS = [
    ("registrada", 6), ("instalada", 30), ("observada", 5), ("en_correccion", 6), ("en_correccion_vencido", 4),
    ("corregida", 4), ("asignada_tras_correccion", 10), ("anulada_sin_atencion", 6), ("redigitada", 6),
    ("pendiente_redigitacion", 3), ("coc_anula", 5), ("campo_gestiona", 4), ("campo_anula", 5),
    ("campo_observada", 3), ("campo_reportada", 3), ("campo_en_coc", 3),
    ("zonificada_recibida", 1), ("zonificada_digitada", 3), ("zonificada_remitida", 4),
]


class Command(BaseCommand):
    help = "Loads demo zones, users (one per role) and cases through the transition path."

    def add_arguments(self, parser):
        parser.add_argument("--casos", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--force", action="store_true", help="load cases even if some exist")

    def handle(self, *args, casos, seed, force, **opts):
        self.rng = random.Random(seed)
        self.usuarios()
        if Solicitud.objects.exists() and not force:
            self.stdout.write("Demo data already loaded (use --force to add more cases).")
            return
        hoy = timezone.localdate()
        nombres = [c for c, _ in CAMINOS]
        pesos = [p for _, p in CAMINOS]
        # Every shape at least once, the rest drawn by weight.
        elegidos = nombres + self.rng.choices(nombres, pesos, k=max(0, casos - len(nombres)))
        for i, camino in enumerate(elegidos):
            dias = self.rng.randint(0, 89) if camino not in {"en_correccion", "pendiente_redigitacion",
                                                              "registrada", "observada"} else 0
            dia = hoy - timedelta(days=dias)
            hora = time(self.rng.randint(8, 15), self.rng.randint(0, 59))
            inicio = timezone.make_aware(datetime.combine(dia, hora))
            inicio = min(inicio, timezone.now() - timedelta(hours=3))
            with transaction.atomic():
                self.caso(i, camino, inicio)
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {len(elegidos)} cases. Users: {', '.join(sorted(self.u))}; password: {DEMO_PASSWORD}"))

    # --- users ----------------------------------------------------------------------------
    def usuarios(self):
        User = get_user_model()
        self.zonas = [Zona.objects.get_or_create(codigo=c, defaults={"nombre": n})[0] for c, n in ZONAS]
        self.u = {}

        def usuario(username, rol, nombre, zona=None, team_leader=None):
            user, creado = User.objects.get_or_create(username=username, defaults={"first_name": nombre})
            if creado:
                user.set_password(DEMO_PASSWORD)
                user.email = f"{username}@demo.local"
                user.save()
            user.groups.add(Group.objects.get(name=rol))
            Perfil.objects.update_or_create(usuario=user, defaults={"zona": zona, "team_leader": team_leader})
            self.u[username] = user
            return user

        tl = usuario("team_leader", Rol.TEAM_LEADER, "Teresa (Team Leader)")
        usuario("asesor", Rol.ASESOR, "Ana (Asesora)", team_leader=tl)
        usuario("asesor2", Rol.ASESOR, "Luis (Asesor)", team_leader=tl)
        usuario("asesor3", Rol.ASESOR, "Carla (Asesora)", team_leader=tl)
        usuario("monitora", Rol.MONITORA, "Mónica (Monitora)")
        usuario("gestion_red", Rol.GESTION_RED, "Gabriel (Gestión de Red)")
        usuario("coc", Rol.COC, "Cecilia (COC)")
        usuario("coz", Rol.COZ, "Óscar (COZ La Paz Centro)", zona=self.zonas[0])
        usuario("tecnico", Rol.TECNICO, "Tomás (Técnico La Paz Centro)", zona=self.zonas[0])
        for z in self.zonas[1:]:
            usuario(f"coz_{z.codigo.lower().replace('-', '_')}", Rol.COZ, f"COZ {z.nombre}", zona=z)
            usuario(f"tecnico_{z.codigo.lower().replace('-', '_')}", Rol.TECNICO, f"Técnico {z.nombre}", zona=z)
        usuario("jefe_division", Rol.JEFE_DIVISION, "Julia (Jefa de División)")
        usuario("facturacion", Rol.FACTURACION, "Fernando (Facturación)")
        self.sistema = T.usuario_sistema()

    def _zonales(self, zona):
        sufijo = zona.codigo.lower().replace("-", "_")
        if zona == self.zonas[0]:
            return self.u["coz"], self.u["tecnico"]
        return self.u[f"coz_{sufijo}"], self.u[f"tecnico_{sufijo}"]

    # --- one case -------------------------------------------------------------------------
    def caso(self, i, camino, inicio):
        rng, u = self.rng, self.u
        reloj = {"t": inicio}

        def paso(accion, minutos=(5, 90)):
            reloj["t"] += timedelta(minutes=rng.randint(*minutos))
            reloj["t"] = min(reloj["t"], timezone.now() - timedelta(minutes=1))
            with time_machine.travel(reloj["t"], tick=False):
                return accion()

        zona = rng.choice(self.zonas)
        coz, tecnico = self._zonales(zona)
        asesor = u[rng.choice(["asesor", "asesor", "asesor2", "asesor3"])]
        numero = f"SF-{inicio:%y%m}-{i + 1:05d}"
        datos = dict(numero_smartflex=numero, tipo=rng.choice(["instalacion"] * 6 + ["traslado", "migracion"]),
                     cliente_nombre=rng.choice(NOMBRES), cliente_telefono=f"7{rng.randint(1000000, 9999999)}",
                     cliente_documento=str(rng.randint(1000000, 9999999)), calle=rng.choice(CALLES),
                     numero_puerta=str(rng.randint(1, 2500)), zona=zona, referencias="Cerca de la plaza",
                     caja_nap=f"NAP-{rng.randint(1, 60):02d}", plan=rng.choice(["Fibra 50", "Fibra 100", "Fibra 200"]),
                     vendedor=rng.choice(VENDEDORES), numero_ot=f"OT-{inicio:%y%m}-{i + 1:05d}")
        s = paso(lambda: T.crear_solicitud(asesor, **datos), (0, 1))
        gr, coc = u["gestion_red"], u["coc"]
        causa, detalle = rng.choice(CAUSAS)

        def ap(obj, nombre, user, minutos=(5, 90), **kw):
            paso(lambda: T.aplicar(obj, nombre, user, **kw), minutos)
            obj.refresh_from_db()

        def observar(por):
            ap(s, "observar", por, causa=causa, detalle=detalle)

        def corregir(por, destinatario="ASESOR"):
            ap(s, "solicitar_correccion", por, destinatario=destinatario,
               requerido="Mayor referencia de dirección y caja más cercana")

        def si_abierto():
            return ServicioIngenieria.objects.filter(solicitud=s).order_by("-pk").first()

        def instalar():
            ap(s, "asignar_instalacion", rng.choice([gr, coc]))
            ap(s.orden, "ejecutar", tecnico, (120, 2000))

        if camino == "registrada":
            return
        if camino == "instalada":
            instalar()
        elif camino == "observada":
            observar(rng.choice([gr, coc]))
        elif camino in ("en_correccion", "en_correccion_vencido", "corregida", "asignada_tras_correccion",
                        "anulada_sin_atencion"):
            por = rng.choice([gr, coc])
            observar(por)
            corregir(por, rng.choice(["ASESOR", "MONITORA", "TEAM_LEADER"]))
            si = si_abierto()
            if camino == "en_correccion_vencido" or camino == "anulada_sin_atencion":
                paso(lambda: T.aplicar(si, "vencer", self.sistema), (600, 900))
            if camino in ("corregida", "asignada_tras_correccion"):
                ap(s, "digitar_modificacion", u["asesor"] if si.destinatario == "ASESOR" and s.asesor == u["asesor"]
                   else u["monitora"], modificacion="Referencia: portón verde, NAP-12")
            if camino == "asignada_tras_correccion":
                ap(s, "asignar_instalacion", gr)  # the OT stays asignada, waiting for the técnico
            if camino == "anulada_sin_atencion":
                paso(lambda: T.registrar_contacto(s, gr, canal="llamada", resultado="sin_respuesta"), (5, 30))
                ap(s, "anular", gr, motivo="SI no atendido en el día; cliente no ubicable")
        elif camino in ("redigitada", "pendiente_redigitacion"):
            observar(coc)
            ap(s, "anular_para_redigitacion", coc, datos_precisos="Número de puerta y NAP correctos: NAP-07")
            if camino == "redigitada":
                nueva = {k: v for k, v in datos.items() if k not in ("numero_smartflex", "numero_ot")}
                nueva.update(numero_smartflex=f"{numero}-R", numero_ot=f"OT-{inicio:%y%m}-{i + 1:05d}-R",
                             caja_nap="NAP-07")
                ap(s, "registrar_redigitacion", s.asesor, (20, 150), nueva=nueva)
                n = s.reemplazada_por
                if rng.random() < 0.7:
                    ap(n, "asignar_instalacion", gr)
                    ap(n.orden, "ejecutar", tecnico, (120, 2000))
        elif camino == "coc_anula":
            observar(coc)
            paso(lambda: T.registrar_contacto(s, coc, canal="llamada", resultado="rechaza"), (5, 30))
            ap(s.orden, "coordinar_anulacion", coc, motivo="No subsanable: sin cobertura de red")
        elif camino.startswith("campo_"):
            ap(s, "asignar_instalacion", rng.choice([gr, coc]))
            ot = s.orden
            ap(ot, "reportar_observacion", tecnico, (60, 600), observacion="El cliente no reconoce la dirección",
               causa=causa, datos_tecnicos="Distancia a NAP 180 m")
            if camino == "campo_observada":
                return
            propuesta = "gestionar" if camino in ("campo_gestiona", "campo_en_coc") else "anular"
            ap(ot, "reportar_a_coz", tecnico, propuesta=propuesta)
            if camino == "campo_reportada":
                return
            ap(ot, "direccionar_a_coc", coz)
            if camino == "campo_gestiona":
                ap(ot, "redireccionar_instalacion", coc)
                ap(ot, "ejecutar", tecnico, (120, 2000))
            elif camino == "campo_anula":
                ap(ot, "ratificar_anulacion", coc, motivo="Verificado por el COZ: sin red en la calle")
        elif camino.startswith("zonificada"):
            instalar()
            otra = rng.choice([z for z in self.zonas if z != s.zona])
            z = paso(lambda: T.recibir_zonificacion(
                s.orden, gr, zona_corregida=otra, tipo_correccion=rng.choice(["zona", "calle", "caja_nap"]),
                calle=rng.choice(CALLES), referencia="Frente a la unidad educativa", caja_nap="NAP-33",
                latitud=f"{-16.5 - rng.random() / 10:.6f}", longitud=f"{-68.1 - rng.random() / 10:.6f}"), (60, 600))
            if camino != "zonificada_recibida":
                ap(z, "digitar", gr, (30, 300))
            if camino == "zonificada_remitida":
                ap(z, "remitir", gr, (60, 600))
