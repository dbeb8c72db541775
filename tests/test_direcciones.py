"""Issue 7: address knowledge — what Gestión de Red, the COC and técnicos learn about streets,
reference points and boxes is kept, warns the next asesor, and feeds QGIS."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import direcciones as D
from anulaciones import transitions as T
from anulaciones.errors import DatosInvalidos, SinPermiso
from anulaciones.models import AliasCalle, CajaNap, Calle, PuntoReferencia

pytestmark = pytest.mark.django_db
ESQUEMA = Path(__file__).parent / "data" / "geojson_featurecollection.schema.json"


def test_normalizar_quita_acentos_mayusculas_prefijos_y_espacios():
    assert D.normalizar("Av.  Héroes del Chaco") == "heroes del chaco"
    assert D.normalizar("AVENIDA heroes DEL chaco") == "heroes del chaco"
    assert D.normalizar("Calle Muñoz") == "munoz"
    assert D.normalizar("calle") == "calle"  # a prefix alone is the name
    assert D.normalizar_codigo(" nap-01 ") == D.normalizar_codigo("NAP 01") == "NAP01"
    assert D.distancia("busch", "bush") == 1 and D.distancia("busch", "bosque") > 1


def test_alias_aprendido_de_un_caso_advierte_en_el_siguiente_registro(esc, u, zona, nueva_solicitud):
    """The issue's scenario: learned from one case, warned on the next registration with the
    same wrong name, accents and case changed and one letter wrong; the correct name is silent."""
    caso = esc.solicitud("observada", calle="Av. Bush")
    D.registrar_aprendido(u.gestion_red, caso, calle="Avenida Germán Busch", aliases="Av. Bush; Avenida Bosch")
    calle = Calle.objects.get()
    assert calle.solicitud == caso and calle.registrado_por == u.gestion_red and calle.creado_at
    assert sorted(AliasCalle.objects.values_list("nombre", flat=True)) == ["Av. Bush", "Avenida Bosch"]

    for escrito in ("Av. Bush", "AV. BÚSH", "av bush", "Avenida Bósch"):
        adv = D.verificar(calle=escrito, zona=zona)
        assert [a["tipo"] for a in adv] == ["alias"], escrito
        assert adv[0]["sugerencia"] == "Avenida Germán Busch"
        assert "Avenida Germán Busch" in adv[0]["mensaje"]
    # one letter wrong of the alias "Bush" -> "Buch"
    adv = D.verificar(calle="av. buch", zona=zona)
    assert adv and adv[0]["sugerencia"] == "Avenida Germán Busch"
    # the correct name, written in other ways, gets no warning
    for escrito in ("Avenida Germán Busch", "av. german busch", "AV GERMAN BUSCH"):
        assert D.verificar(calle=escrito, zona=zona) == [], escrito
    # an unknown street gets no warning either
    assert D.verificar(calle="Calle Sucre", zona=zona) == []
    # a typo of the correct name is a suggestion
    adv = D.verificar(calle="Av. German Bussch", zona=zona)
    assert [a["tipo"] for a in adv] == ["parecida"] and adv[0]["sugerencia"] == "Avenida Germán Busch"

    # the next registration records the accepted warning on the Solicitud
    siguiente = nueva_solicitud(
        calle="AV. BÚSH", advertencias_direccion=D.verificar(calle="AV. BÚSH", zona=zona), advertencia_aceptada=True
    )
    siguiente.refresh_from_db()
    assert (
        siguiente.advertencia_aceptada and siguiente.advertencias_direccion[0]["sugerencia"] == "Avenida Germán Busch"
    )


def test_caja_de_otra_zona_y_referencia_de_otra_zona(u, zonas, esc):
    z1, z2 = zonas
    caso = esc.solicitud("observada")
    D.registrar_aprendido(
        u.tecnico,
        caso,
        caja="NAP-77",
        caja_latitud="-16.5",
        caja_longitud="-68.1",
        referencia="Mercado Rodríguez",
        ref_latitud="-16.49",
        ref_longitud="-68.14",
    )
    assert CajaNap.objects.get().zona == z1 and PuntoReferencia.objects.get().zona == z1
    adv = D.verificar(calle="", zona=z2, caja_nap="nap 77", referencias="mercado rodriguez")
    assert {a["campo"]: a["tipo"] for a in adv} == {"caja_nap": "otra_zona", "referencias": "otra_zona"}
    assert all("Zona Norte" in a["mensaje"] for a in adv)
    assert D.verificar(zona=z1, caja_nap="NAP-77", referencias="Mercado Rodriguez") == []


def test_registrar_aprendido_permisos_y_coordenadas(u, esc):
    caso = esc.solicitud("observada")
    with pytest.raises(SinPermiso):
        D.registrar_aprendido(u.asesor, caso, calle="Sucre")
    with pytest.raises(DatosInvalidos) as e:
        D.registrar_aprendido(u.coc, caso, referencia="Plaza", ref_latitud="40.7", ref_longitud="-74.0")
    assert set(e.value.errores) == {"ref_latitud", "ref_longitud"}
    with pytest.raises(DatosInvalidos) as e:
        D.registrar_aprendido(u.coc, caso, caja="NAP-1", caja_latitud="-16,5", caja_longitud="")
    assert "caja_longitud" in e.value.errores
    with pytest.raises(DatosInvalidos):
        D.registrar_aprendido(u.coc, caso)
    assert not (Calle.objects.exists() or PuntoReferencia.objects.exists() or CajaNap.objects.exists())


def test_zonificacion_alimenta_el_conocimiento(esc, django_capture_on_commit_callbacks):
    """Step 20: the received zonification's street, reference, box and coordinates (receiver of
    transicion_realizada for the «recibir» birth)."""
    with django_capture_on_commit_callbacks(execute=True):
        z = esc.zonificacion("recibida")
    calle = Calle.objects.get()
    assert calle.nombre == "Calle Murillo" and calle.zona == z.zona_corregida and str(calle.latitud) == "-16.500000"
    assert [a.nombre for a in calle.aliases.all()] == [z.solicitud.calle]  # the typed street becomes an alias
    assert PuntoReferencia.objects.get().nombre == "Esquina plaza"
    caja = CajaNap.objects.get()
    assert caja.codigo == "NAP-07" and caja.solicitud == z.solicitud
    assert D.verificar(calle=z.solicitud.calle.upper(), zona=z.zona_corregida)[0]["sugerencia"] == "Calle Murillo"


def _conocimiento(u, zona, esc):
    caso = esc.solicitud("observada")
    D.registrar_aprendido(u.gestion_red, caso, calle="Av. Busch", aliases="Av. Bush")
    D.registrar_calle(
        u.gestion_red,
        nombre="Calle Murillo",
        aliases=["Murilo", "Calle Morillo"],
        zona=zona,
        latitud="-16.4955",
        longitud="-68.1336",
    )
    D.registrar_aprendido(
        u.gestion_red,
        caso,
        referencia="Mercado Rodríguez",
        ref_latitud="-16.49",
        ref_longitud="-68.14",
        caja="NAP-01",
        caja_latitud="-16.5",
        caja_longitud="-68.15",
    )
    return caso


def test_geojson_valido_y_con_atributos(u, zona, esc):
    import jsonschema

    caso = _conocimiento(u, zona, esc)
    capa = D.geojson()
    jsonschema.validate(capa, json.loads(ESQUEMA.read_text()))
    tipos = sorted(f["properties"]["kind"] for f in capa["features"])
    assert tipos == ["caja_nap", "calle", "punto_referencia"]  # the street without coordinates is not a point
    for f in capa["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert -69.65 <= lon <= -57.45 and -22.91 <= lat <= -9.67  # [lon, lat] order (RFC 7946)
        assert set(f["properties"]) == set(D.PROPIEDADES)
    punto = next(f for f in capa["features"] if f["properties"]["kind"] == "punto_referencia")["properties"]
    assert punto["source_case"] == caso.numero_smartflex and punto["zone"] == zona.codigo
    calle = next(f for f in capa["features"] if f["properties"]["kind"] == "calle")["properties"]
    assert calle["aliases"] == "Calle Morillo; Murilo"
    # filters: another zone or a past period give nothing
    assert D.geojson(zona=esc.zona.__class__.objects.exclude(pk=zona.pk).first())["features"] == []
    from datetime import date

    assert D.geojson(desde=date(2000, 1, 1), hasta=date(2000, 1, 31))["features"] == []


def test_geojson_ida_y_vuelta_por_la_importacion(u, zona, esc):
    _conocimiento(u, zona, esc)
    original = D.geojson()
    texto = json.dumps(original)
    AliasCalle.objects.all().delete(), Calle.objects.all().delete()
    PuntoReferencia.objects.all().delete(), CajaNap.objects.all().delete()
    informe = D.importar_capa(u.gestion_red, texto.encode(), "capa.geojson")
    assert informe["errores"] == []
    assert informe["creados"] == {"caja_nap": 1, "calle": 1, "punto_referencia": 1, "zona": 0}

    def clave(capa):
        return sorted(
            (
                f["properties"]["kind"],
                f["properties"]["name"],
                f["properties"]["zone"],
                f["properties"]["aliases"],
                tuple(f["geometry"]["coordinates"]),
            )
            for f in capa["features"]
        )

    assert clave(D.geojson()) == clave(original)
    assert D.verificar(calle="murilo", zona=zona)[0]["sugerencia"] == "Calle Murillo"


def test_importacion_informa_cada_fila_mala(u, zona):
    csv_texto = (
        "kind,name,zone,aliases,lat,lon\n"
        "calle,Av. Arce,Z1,Avenida Arze,,\n"  # 2 good
        "punto_referencia,Plaza Avaroa,Z1,,-16.51,-68.12\n"  # 3 good
        "caja_nap,NAP-9,Z9,,-16.5,-68.1\n"  # 4 unknown zone
        "punto_referencia,Obelisco,Z1,,-16.5,\n"  # 5 half coordinates
        "caja_nap,NAP-10,Z1,,-34.6,-58.4\n"  # 6 outside Bolivia
        "estadio,Hernando Siles,Z1,,-16.5,-68.1\n"  # 7 unknown kind
        "punto_referencia,Teleférico,Z1,,norte,-68.1\n"  # 8 not decimal degrees
        "zona,Zona Este,Z3,,,\n"  # 9 good: a zones layer row
    )
    informe = D.importar_capa(u.gestion_red, csv_texto.encode(), "capa.csv")
    assert [n for n, _ in informe["errores"]] == [4, 5, 6, 7, 8]
    mensajes = dict(informe["errores"])
    assert "Z9" in mensajes[4] and "Bolivia" in mensajes[6] and "estadio" in mensajes[7] and "decimales" in mensajes[8]
    assert informe["creados"] == {"calle": 1, "punto_referencia": 1, "caja_nap": 0, "zona": 1}
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-68.1, -16.5]},
                "properties": {"kind": "caja_nap", "name": "NAP-11", "zone": "Z1"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[-68.1, -16.5], [-68.2, -16.6]]},
                "properties": {"kind": "caja_nap", "name": "NAP-12", "zone": "Z1"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-16.5, -68.1]},  # lat/lon swapped
                "properties": {"kind": "caja_nap", "name": "NAP-13", "zone": "Z1"},
            },
            "basura",
        ],
    }
    informe = D.importar_capa(u.gestion_red, json.dumps(geo).encode(), "capa.geojson")
    assert [n for n, _ in informe["errores"]] == [2, 3, 4] and informe["creados"]["caja_nap"] == 1
    with pytest.raises(DatosInvalidos):
        D.importar_capa(u.gestion_red, b"{no es json", "capa.geojson")
    with pytest.raises(SinPermiso):
        D.importar_capa(u.coc, csv_texto.encode(), "capa.csv")


@pytest.mark.skipif(
    not shutil.which("ogrinfo"), reason="ogrinfo (Debian gdal-bin) not installed: make test installs it"
)
def test_ogrinfo_lee_la_capa_como_puntos_en_epsg_4326(u, zona, esc, tmp_path):
    _conocimiento(u, zona, esc)
    archivo = tmp_path / "conocimiento.geojson"
    archivo.write_text("".join(D.geojson_partes()), encoding="utf-8")
    salida = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(archivo)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Geometry: Point" in salida
    assert "Feature Count: 3" in salida
    assert 'ID["EPSG",4326]' in salida or 'AUTHORITY["EPSG","4326"]' in salida
    for atributo in D.PROPIEDADES:
        assert f"\n{atributo}: " in salida, atributo
    detalle = subprocess.run(
        ["ogrinfo", "-ro", "-al", str(archivo)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Mercado Rodríguez" in detalle and "POINT (-68.14 -16.49)" in detalle


# 20 two-letter syllables with distinct first letters: 8,000 different three-syllable names.
SILABAS = [
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "ha",
    "ju",
    "ki",
    "lo",
    "ma",
    "ne",
    "pi",
    "qa",
    "ro",
    "su",
    "te",
    "vu",
    "wa",
    "xi",
    "yo",
]


def _nombre(i):
    return "".join(SILABAS[(i // 20**k) % 20] for k in range(3)).capitalize()


def _muchas_calles(desde, hasta, zona, usuario):
    calles = []
    for i in range(desde, hasta):
        c = Calle(nombre=f"Calle {_nombre(i)}", zona=zona, registrado_por=usuario)
        c.llenar_clave()
        calles.append(c)
    calles = Calle.objects.bulk_create(calles, batch_size=2000)
    aliases = []
    for c in calles:
        a = AliasCalle(calle=c, nombre=f"Av. {c.nombre[6:]}s", registrado_por=usuario)  # "Av. Libabas"
        a.llenar_clave()
        aliases.append(a)
    AliasCalle.objects.bulk_create(aliases, batch_size=2000)


@pytest.mark.parametrize(
    "escrito, sugerencia",
    [
        ("Av. Lobabas", "Calle Lobaba"),  # a known alias (i = 8)
        ("AV LÓBABAZ", "Calle Lobaba"),  # the alias with one letter wrong, accents and case changed
        ("calle lobaba", None),  # the correct name
        ("Av. Sucre", None),  # unknown
    ],
)
def test_consultas_constantes_con_10_y_5000_calles(u, zona, escrito, sugerencia):
    """Matching is done by the database (index / trigram search): the same number of queries
    and the same answer with 10 or 5,000 streets and 5,000 aliases."""
    _muchas_calles(0, 10, zona, u.gestion_red)
    with CaptureQueriesContext(connection) as pocas:
        antes = D.verificar(calle=escrito, zona=zona, referencias="Frente al mercado", caja_nap="NAP-01")
    _muchas_calles(10, 5000, zona, u.gestion_red)
    assert Calle.objects.count() == 5000 and AliasCalle.objects.count() == 5000
    with CaptureQueriesContext(connection) as muchas:
        despues = D.verificar(calle=escrito, zona=zona, referencias="Frente al mercado", caja_nap="NAP-01")
    assert len(muchas) == len(pocas) <= 7
    assert antes == despues
    assert [a["sugerencia"] for a in despues] == ([sugerencia] if sugerencia else [])


def test_la_busqueda_de_parecidos_usa_un_indice(u, zona):
    """The typo search is served by an index (GiST trigram on PostgreSQL, prefix/suffix on SQLite),
    not by a scan of every street."""
    _muchas_calles(0, 5000, zona, u.gestion_red)
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("ANALYZE anulaciones_calle; ANALYZE anulaciones_aliascalle")
    qs = AliasCalle.objects.filter(D._zona_q(zona.pk, "calle__zona")).select_related("calle")
    with CaptureQueriesContext(connection) as consultas:
        D._candidatos(qs, "lobabaz")
    plan = "\n".join(
        str(fila)
        for fila in connection.cursor()
        .execute(("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ") + consultas[0]["sql"])
        .fetchall()
    )
    indice = "anulaciones_aliascalle_normalizado_trgm" if connection.vendor == "postgresql" else "anul_alias_pre_largo"
    assert indice in plan, plan


def test_zonificacion_con_datos_que_no_sirven_no_falla(esc, u, django_capture_on_commit_callbacks):
    """A reference the knowledge refuses (a control character) does not undo nor break the
    received zonification; the rest of what it taught is kept."""
    o = esc.orden("ejecutada")
    with django_capture_on_commit_callbacks(execute=True):
        z = T.recibir_zonificacion(
            o,
            u.gestion_red,
            zona_corregida=esc.zona,
            calle="Calle Murillo",
            referencia="Esquina\x01plaza",
            caja_nap="",
            latitud="-16.5",
            longitud="-68.15",
        )
    assert z.pk and Calle.objects.get().nombre == "Calle Murillo" and not PuntoReferencia.objects.exists()
