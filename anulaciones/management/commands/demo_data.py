"""Demo data: zones, one user per role (username = role code in lower case), the address
knowledge of each zone (its streets, the wrong names people type for them, landmarks and boxes,
located), and a few hundred cases spread over every state of every machine and over the last 3
months — all through the transition path, each step at its own past moment, so their audit trails
are real.

It makes sense as a whole: a case's address uses its zone's streets by their correct names (never
one the knowledge marks as wrong) and a box of its zone; what an SI asks for follows from why the
case was observed; and the first case of each shape is in La Paz Centro for the asesor «asesor»,
so that every demo user (the COZ and técnico of La Paz Centro included) finds work on its home."""

import os
import random
from datetime import datetime, time, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from anulaciones import direcciones as D
from anulaciones import transitions as T
from anulaciones.models import Perfil, ServicioIngenieria, Solicitud, Zona
from anulaciones.models.direcciones import Origen
from anulaciones.roles import Rol

DEMO_PASSWORD = "demo1234"
ZONAS = [
    ("LPZ-C", "La Paz Centro"),
    ("LPZ-S", "La Paz Zona Sur"),
    ("EAL-N", "El Alto Norte"),
    ("EAL-S", "El Alto Sur"),
    ("LPZ-M", "La Paz Miraflores"),
    ("VIA", "Viacha"),
]
# What the demo knows of each zone (as if imported from the GIS layer): its centre, its streets by
# their correct names, each with the wrong names people type for it (aliases), its landmarks and
# the prefix of its boxes / NAP. Cases use only the correct names; a wrong name is never a correct
# name anywhere else.
GEOGRAFIA = {
    "LPZ-C": {
        "centro": (-16.4960, -68.1335),
        "cajas": "NAP-CE",
        "calles": {
            "Av. 6 de Agosto": ["Av. Seis de Agosto"],
            "Calle Jaén": ["Calle Jaem"],
            "Av. Arce": ["Av. Arze"],
            "Calle Sagárnaga": ["Calle Zagarnaga"],
            "Calle Murillo": [],
            "Calle Linares": ["Calle Linarez"],
        },
        "lugares": ["Plaza Murillo", "Iglesia de San Francisco", "Mercado Lanza"],
    },
    "LPZ-S": {
        "centro": (-16.5400, -68.0790),
        "cajas": "NAP-SU",
        "calles": {
            "Calle 21 de Calacoto": ["Calle 21 Calacoto"],
            "Av. Costanera": ["Av. Costanero"],
            "Av. Ballivián": [],
            "Calle 16 de Obrajes": ["Calle Dieciséis de Obrajes"],
        },
        "lugares": ["Plaza Humboldt", "Megacenter Irpavi", "Mercado de Achumani"],
    },
    "EAL-N": {
        "centro": (-16.4820, -68.1750),
        "cajas": "NAP-EA",
        "calles": {
            "Av. Juan Pablo II": ["Av. Juan Pablo Segundo"],
            "Av. Alfonso Ugarte": ["Av. Alfonzo Ugarte"],
            "Av. Chacaltaya": [],
        },
        "lugares": ["Ceja de El Alto", "Feria 16 de Julio", "Universidad Pública de El Alto"],
    },
    "EAL-S": {
        "centro": (-16.5350, -68.2000),
        "cajas": "NAP-ES",
        "calles": {"Av. 6 de Marzo": ["Av. Seis de Marzo"], "Av. Bolivia": [], "Calle Cívica": ["Calle Civika"]},
        "lugares": ["Plaza Juana Azurduy", "Aeropuerto de El Alto", "Mercado Santa Rosa"],
    },
    "LPZ-M": {
        "centro": (-16.5000, -68.1200),
        "cajas": "NAP-MF",
        "calles": {"Av. Busch": ["Av. Bush", "Av. Buch"], "Av. Saavedra": ["Av. Savedra"], "Calle Díaz Romero": []},
        "lugares": ["Estadio Hernando Siles", "Plaza Villarroel", "Mercado Miraflores"],
    },
    "VIA": {
        "centro": (-16.6530, -68.3010),
        "cajas": "NAP-VI",
        "calles": {"Av. Ingavi": ["Av. Ingabi"], "Calle Bolívar": [], "Av. Mariscal Sucre": ["Av. Mcal Sucre"]},
        "lugares": ["Plaza Principal de Viacha", "Estación de trenes de Viacha"],
    },
}
CAJAS_POR_ZONA = 12  # NAP-xx-01 … 12; the odd ones are located, the even ones not yet
# A zonification (20) corrects a case to a neighbouring zone.
VECINA = {"LPZ-C": "LPZ-M", "LPZ-M": "LPZ-C", "LPZ-S": "LPZ-C", "EAL-N": "EAL-S", "EAL-S": "EAL-N", "VIA": "EAL-S"}
PORTONES = ["verde", "azul", "negro", "blanco", "café", "rojo"]
NOMBRES = [
    "Juana Mamani",
    "Carlos Quispe",
    "María Choque",
    "Luis Condori",
    "Rosa Huanca",
    "Jorge Limachi",
    "Ana Flores",
    "Pedro Apaza",
    "Elena Ticona",
    "Miguel Callisaya",
    "Sonia Poma",
    "Raúl Chambi",
]
VENDEDORES = ["Pedro Vargas", "Lucía Rojas", "Marco Salinas", "Daniela Ortiz"]
CAUSAS = [
    ("calle", "El número de puerta no existe en esa calle según el QGis"),
    ("caja_nap", "La NAP indicada está saturada"),
    ("datos_tecnicos", "Plan no disponible en la zona"),
    ("datos_cliente", "Documento del cliente errado"),
    ("equipos", "Equipo no corresponde al plan"),
    ("otro", "Dirección ambigua"),
]
# 3.2: what the SI asks for, by the cause observed ({calle}, {caja}: the case's); and the precise
# data a re-digitation needs (9.1), by cause as well.
REQUERIDO = {
    "calle": "Número de puerta correcto en {calle} y una referencia visible (fachada, comercio cercano)",
    "caja_nap": "Caja / NAP con puertos libres más cercana al domicilio ({caja} está saturada)",
    "datos_tecnicos": "Plan disponible en la zona, confirmado con el cliente",
    "datos_cliente": "Número de documento del cliente tal como figura en su carnet, con foto del carnet",
    "equipos": "Equipo que corresponde al plan contratado (modelo de ONT)",
    "otro": "Dirección completa con referencias precisas y un teléfono de contacto alternativo",
}
MODIFICACION = {
    "datos_tecnicos": "Plan cambiado a Fibra 100 con la conformidad del cliente",
    "datos_cliente": "Documento del cliente corregido según su carnet",
    "equipos": "Equipo cambiado al que corresponde al plan",
    "otro": "Dirección completada con referencias y teléfono alternativo",
}
DATOS_PRECISOS = {
    "calle": "Dirección correcta: {calle}, número de puerta verificado en campo",
    "caja_nap": "Caja / NAP correcta: {caja_nueva} (la registrada no tiene puertos)",
    "datos_tecnicos": "Plan correcto: Fibra 100 (el registrado no se ofrece en la zona)",
    "datos_cliente": "Documento y nombre del titular tal como figuran en el carnet",
    "equipos": "Equipo correcto según el plan: ONT con Wi-Fi de doble banda",
    "otro": "Datos del domicilio completos, confirmados con el cliente por teléfono",
}

# Final shapes of a case, weighted: each names the path through the seed it walks.
CAMINOS = [
    ("registrada", 6),
    ("instalada", 30),
    ("observada", 5),
    ("en_correccion", 6),
    ("en_correccion_vencido", 4),
    ("corregida", 4),
    ("asignada_tras_correccion", 10),
    ("anulada_sin_atencion", 6),
    ("redigitada", 6),
    ("pendiente_redigitacion", 3),
    ("coc_anula", 5),
    ("campo_gestiona", 4),
    ("campo_anula", 5),
    ("campo_observada", 3),
    ("campo_reportada", 3),
    ("campo_en_coc", 3),
    ("zonificada_recibida", 1),
    ("zonificada_digitada", 3),
    ("zonificada_remitida", 4),
]


def primer_dia_mes_anterior(hoy):
    return (hoy.replace(day=1) - timedelta(days=1)).replace(day=1)


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
        self.direcciones()
        hoy = timezone.localdate()
        nombres = [c for c, _ in CAMINOS]
        pesos = [p for _, p in CAMINOS]
        # Every shape at least once, the rest drawn by weight.
        elegidos = nombres + self.rng.choices(nombres, pesos, k=max(0, casos - len(nombres)))
        # The month-end deliveries (21.1) are built once the other cases are in: the zonifications
        # received or digitized afterwards wait for the next (supplementary) delivery.
        despues = {"zonificada_recibida", "zonificada_digitada"}
        entregado = False
        for i, camino in sorted(enumerate(elegidos), key=lambda x: x[1] in despues):
            if camino in despues and not entregado:
                self.entregas()
                entregado = True
            dias = (
                self.rng.randint(0, 89)
                if camino not in {"en_correccion", "pendiente_redigitacion", "registrada", "observada"}
                else 0
            )
            if i < len(nombres) and camino == "zonificada_digitada":
                # digitized last month after its delivery: the month ended with it undelivered,
                # red on the jefe de división's home until Gestión de Red delivers it (21.1)
                dias = (hoy - primer_dia_mes_anterior(hoy)).days - self.rng.randint(10, 20)
            dia = hoy - timedelta(days=dias)
            hora = time(self.rng.randint(8, 15), self.rng.randint(0, 59))
            inicio = timezone.make_aware(datetime.combine(dia, hora))
            inicio = min(inicio, timezone.now() - timedelta(hours=3))
            with transaction.atomic():
                self.caso(i, camino, inicio, primero=i < len(nombres))
        if not entregado:
            self.entregas()
        self.conciliacion()
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {len(elegidos)} cases. Users: {', '.join(sorted(self.u))}; password: {DEMO_PASSWORD}"
            )
        )

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

    def modificacion(self, s, causa):
        """4.1: what the asesor digits to answer the SI, for the cause observed."""
        if causa == "caja_nap":
            nueva = self.caja(s.zona, ubicada=True)
            if nueva != s.caja_nap:
                return {"caja_nap": nueva, "modificacion": "Caja / NAP con puertos libres confirmada en campo"}
        if causa == "calle":
            return {
                "numero_puerta": str(self.rng.randint(1, 2500)),
                "referencias": s.referencias + ", portón verde",
                "modificacion": "Número de puerta verificado con el cliente",
            }
        return {"modificacion": MODIFICACION.get(causa, "Datos del domicilio completados con el cliente")}

    # --- address knowledge (3.3, issue 7) ------------------------------------------------------
    def cerca(self, zona, radio):
        lat, lon = GEOGRAFIA[zona.codigo]["centro"]
        return lat + self.rng.uniform(-radio, radio), lon + self.rng.uniform(-radio, radio)

    def caja(self, zona, ubicada=None):
        """A box of ``zona``: any, or one already located (``ubicada``)."""
        n = self.rng.randint(1, CAJAS_POR_ZONA)
        if ubicada and n % 2 == 0:
            n -= 1
        return f"{GEOGRAFIA[zona.codigo]['cajas']}-{n:02d}"

    def direcciones(self):
        """What Gestión de Red loaded from the GIS layer: each zone's streets with their wrong
        names, its landmarks and its boxes, located around the zone's centre (the even boxes are
        not located yet: cases observed for one of them wait on the map's list)."""
        gr = self.u["gestion_red"]
        for zona in self.zonas:
            geo = GEOGRAFIA[zona.codigo]
            for nombre, erroneos in geo["calles"].items():
                lat, lon = self.cerca(zona, 0.01)
                D.registrar_calle(
                    gr,
                    nombre=nombre,
                    aliases=erroneos,
                    zona=zona,
                    latitud=f"{lat:.6f}",
                    longitud=f"{lon:.6f}",
                    origen=Origen.IMPORTACION,
                )
            for nombre in geo["lugares"]:
                lat, lon = self.cerca(zona, 0.01)
                D.registrar_punto(
                    gr, nombre=nombre, zona=zona, latitud=f"{lat:.6f}", longitud=f"{lon:.6f}", origen=Origen.IMPORTACION
                )
            for n in range(1, CAJAS_POR_ZONA + 1):
                lat, lon = self.cerca(zona, 0.012) if n % 2 else (None, None)
                D.registrar_caja(
                    gr,
                    codigo=f"{geo['cajas']}-{n:02d}",
                    zona=zona,
                    latitud=f"{lat:.6f}" if lat else None,
                    longitud=f"{lon:.6f}" if lon else None,
                    origen=Origen.IMPORTACION,
                )

    # --- the month-end deliveries (21.1) -----------------------------------------------------
    def entregas(self):
        """One delivery per month with digitized zonifications, built on the month's last day by
        Gestión de Red; Facturación acknowledged every one but the last (which waits on its home)."""
        from anulaciones.entregas import fin_de_mes, generar_entrega, primer_dia
        from anulaciones.models import Zonificacion

        fechas = Zonificacion.objects.filter(estado="digitada").values_list("digitada_at", flat=True)
        hechas = []
        for mes in sorted({primer_dia(timezone.localtime(f).date()) for f in fechas}):
            cuando = min(fin_de_mes(mes) - timedelta(minutes=5), timezone.now())
            with time_machine.travel(cuando, tick=False):
                entrega = generar_entrega(mes, self.u["gestion_red"])
            if entrega:
                hechas.append((entrega, cuando))
        for entrega, cuando in hechas[:-1]:
            with time_machine.travel(cuando + timedelta(minutes=20), tick=False):
                T.aplicar(entrega, "acusar_recibo", self.u["facturacion"])

    def conciliacion(self):
        """Issue 18: a Smartflex status feed, imported like an upload, that shows every class of
        difference on /smartflex/conciliacion/ (cancellations made only in Smartflex, one with no
        case, one the application cancelled and Smartflex still shows, an installation only
        Smartflex knows), and a customer re-entered after a cancellation, proposed as its
        re-digitation."""
        import csv
        import tempfile

        from django.core.files import File

        from anulaciones import conciliacion, emparejamiento

        ahora = timezone.localtime()
        fecha = (ahora - timedelta(hours=5)).strftime("%d/%m/%Y %H:%M")
        abiertas = list(Solicitud.objects.filter(estado__in=["registrada", "corregida"]).order_by("pk")[:3])
        anulada = Solicitud.objects.filter(estado="anulada").order_by("pk").first()
        en_instalacion = Solicitud.objects.filter(estado="en_instalacion").select_related("orden").first()
        filas = [["Tipo", "Número", "Estado", "Fecha", "Motivo", "Usuario", "Documento", "Teléfono", "Dirección"]]
        filas += [["Solicitud", s.numero_smartflex, "ANULADA", fecha, "Cliente desistió", "jperez"] for s in abiertas]
        filas.append(["Solicitud", "SF-DEMO-9001", "Anulada", fecha, "Sin cobertura", "mrojas", "4455667", "", ""])
        if anulada is not None:
            filas.append(["Solicitud", anulada.numero_smartflex, "Vigente", fecha, "", "mrojas"])
        if en_instalacion is not None:
            filas.append(["OT", en_instalacion.orden.numero, "Ejecutada", fecha, "", "tec01"])
        filas = [f + [""] * (len(filas[0]) - len(f)) for f in filas]
        with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="cp1252", newline="", delete=False) as f:
            csv.writer(f, delimiter=";").writerows(filas)
        with open(f.name, "rb") as datos:
            imp = conciliacion.subir_estados(
                File(datos, name=f"estados-smartflex-{ahora:%Y%m%d}.csv"), self.u["gestion_red"], encolar=False
            )
        os.unlink(f.name)
        conciliacion.ejecutar(imp.pk)
        # A customer whose request waits for its re-digitation typed the new one apart (in Smartflex,
        # imported): the pairing proposes it, with its confidence and reasons.
        pendiente = Solicitud.objects.filter(estado="pendiente_redigitacion").order_by("pk").first()
        if pendiente is not None:
            T.crear_solicitud(
                self.u["asesor"],
                numero_smartflex=f"{pendiente.numero_smartflex}-B",
                tipo=pendiente.tipo,
                cliente_nombre=pendiente.cliente_nombre,
                cliente_documento=pendiente.cliente_documento,
                cliente_telefono=pendiente.cliente_telefono,
                calle=pendiente.calle,
                numero_puerta=pendiente.numero_puerta,
                zona=pendiente.zona,
                plan=pendiente.plan,
                vendedor=pendiente.vendedor,
            )
            emparejamiento.emparejar()

    # --- one case -------------------------------------------------------------------------
    def caso(self, i, camino, inicio, primero=False):
        """One case walking ``camino``. ``primero``: the first case of its shape, in La Paz Centro
        for the asesor «asesor», where the demo users of zone-scoped roles work."""
        rng, u = self.rng, self.u
        reloj = {"t": inicio}

        def paso(accion, minutos=(5, 90)):
            reloj["t"] += timedelta(minutes=rng.randint(*minutos))
            reloj["t"] = min(reloj["t"], timezone.now() - timedelta(minutes=1))
            with time_machine.travel(reloj["t"], tick=False):
                return accion()

        zona = rng.choice(self.zonas)
        asesor = u[rng.choice(["asesor", "asesor", "asesor2", "asesor3"])]
        if primero:
            zona, asesor = self.zonas[0], u["asesor"]
        coz, tecnico = self._zonales(zona)
        geo = GEOGRAFIA[zona.codigo]
        numero = f"SF-{inicio:%y%m}-{i + 1:05d}"
        datos = dict(
            numero_smartflex=numero,
            tipo=rng.choice(["instalacion"] * 6 + ["traslado", "migracion"]),
            cliente_nombre=rng.choice(NOMBRES),
            cliente_telefono=f"7{rng.randint(1000000, 9999999)}",
            cliente_documento=str(rng.randint(1000000, 9999999)),
            calle=rng.choice(list(geo["calles"])),
            numero_puerta=str(rng.randint(1, 2500)),
            zona=zona,
            referencias=f"A media cuadra de {rng.choice(geo['lugares'])}",
            caja_nap=self.caja(zona),
            plan=rng.choice(["Fibra 50", "Fibra 100", "Fibra 200"]),
            vendedor=rng.choice(VENDEDORES),
            numero_ot=f"OT-{inicio:%y%m}-{i + 1:05d}",
        )
        s = paso(lambda: T.crear_solicitud(asesor, **datos), (0, 1))
        gr, coc = u["gestion_red"], u["coc"]
        causa, detalle = rng.choice(CAUSAS)

        def ap(obj, nombre, user, minutos=(5, 90), **kw):
            paso(lambda: T.aplicar(obj, nombre, user, **kw), minutos)
            obj.refresh_from_db()

        def observar(por):
            ap(s, "observar", por, causa=causa, detalle=detalle)

        def corregir(por, destinatario="ASESOR"):
            ap(
                s,
                "solicitar_correccion",
                por,
                destinatario=destinatario,
                requerido=REQUERIDO[causa].format(calle=s.calle, caja=s.caja_nap),
            )

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
        elif camino in (
            "en_correccion",
            "en_correccion_vencido",
            "corregida",
            "asignada_tras_correccion",
            "anulada_sin_atencion",
        ):
            por = rng.choice([gr, coc])
            observar(por)
            destinatarios = ["ASESOR", "MONITORA", "TEAM_LEADER"]
            if camino.startswith("en_correccion") and por == coc and causa in ("caja_nap", "datos_tecnicos"):
                destinatarios = ["GESTION_RED"]  # network data: the COC asks Gestión de Red (3.1)
            corregir(por, rng.choice(destinatarios))
            si = si_abierto()
            if camino == "en_correccion_vencido" or camino == "anulada_sin_atencion":
                paso(lambda: T.aplicar(si, "vencer", self.sistema), (600, 900))
            if camino in ("corregida", "asignada_tras_correccion"):
                ap(
                    s,
                    "digitar_modificacion",
                    u["asesor"] if si.destinatario == "ASESOR" and s.asesor == u["asesor"] else u["monitora"],
                    **self.modificacion(s, causa),
                )
            if camino == "asignada_tras_correccion":
                ap(s, "asignar_instalacion", gr)  # the OT stays asignada, waiting for the técnico
            if camino == "anulada_sin_atencion":
                paso(lambda: T.registrar_contacto(s, gr, canal="llamada", resultado="sin_respuesta"), (5, 30))
                ap(s, "anular", gr, motivo="SI no atendido en el día; cliente no ubicable")
        elif camino in ("redigitada", "pendiente_redigitacion"):
            observar(coc)
            caja_nueva = self.caja(zona, ubicada=True)
            ap(
                s,
                "anular_para_redigitacion",
                coc,
                datos_precisos=DATOS_PRECISOS[causa].format(calle=s.calle, caja_nueva=caja_nueva),
            )
            if camino == "redigitada":
                nueva = {k: v for k, v in datos.items() if k not in ("numero_smartflex", "numero_ot")}
                nueva.update(numero_smartflex=f"{numero}-R", numero_ot=f"OT-{inicio:%y%m}-{i + 1:05d}-R")
                if causa == "caja_nap":
                    nueva["caja_nap"] = caja_nueva
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
            ap(
                ot,
                "reportar_observacion",
                tecnico,
                (60, 600),
                observacion="El cliente no reconoce la dirección",
                causa=causa,
                datos_tecnicos="Distancia a NAP 180 m",
            )
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
            # The form of the executed OT (20.1): the zone, box or point where the técnico found the
            # customer, with coordinates in that zone. The street keeps its (correct) name: it is
            # located, never renamed, so the knowledge marks no name the cases use as wrong.
            tipo = rng.choice(["zona", "caja_nap", "coordenadas", "referencia"])
            corregida = next(z for z in self.zonas if z.codigo == VECINA[zona.codigo]) if tipo == "zona" else zona
            caja = self.caja(corregida) if tipo in ("zona", "caja_nap") else s.caja_nap
            lat, lon = self.cerca(corregida, 0.006)
            z = paso(
                lambda: T.recibir_zonificacion(
                    s.orden,
                    gr,
                    zona_corregida=corregida,
                    tipo_correccion=tipo,
                    calle=s.calle,
                    referencia=f"{s.calle} {s.numero_puerta}, portón {rng.choice(PORTONES)}",
                    caja_nap=caja,
                    latitud=f"{lat:.6f}",
                    longitud=f"{lon:.6f}",
                ),
                (60, 600),
            )
            if camino != "zonificada_recibida":
                ap(z, "digitar", gr, (30, 300))
            # zonificada_remitida: sent by the month's delivery (self.entregas)
