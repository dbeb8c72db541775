"""Roles of the procedure as Django groups, the system user the deadline tasks act as, and
(on PostgreSQL) a trigger that makes the audit log append-only at the database too."""
from django.db import migrations

ROLES = ["ASESOR", "MONITORA", "TEAM_LEADER", "GESTION_RED", "COC", "COZ", "TECNICO", "JEFE_DIVISION",
         "FACTURACION"]

TRIGGER = """
CREATE OR REPLACE FUNCTION anulaciones_auditoria_inmutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'El registro de auditoría es de solo inserción';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER anulaciones_auditoria_inmutable
  BEFORE UPDATE OR DELETE ON anulaciones_registroauditoria
  FOR EACH ROW EXECUTE FUNCTION anulaciones_auditoria_inmutable();
"""
SIN_TRIGGER = """
DROP TRIGGER IF EXISTS anulaciones_auditoria_inmutable ON anulaciones_registroauditoria;
DROP FUNCTION IF EXISTS anulaciones_auditoria_inmutable();
"""


def crear_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    for rol in ROLES:
        Group.objects.get_or_create(name=rol)
    User.objects.get_or_create(username="sistema", defaults={"first_name": "Sistema", "is_active": True,
                                                             "password": "!"})


def borrar_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


def trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def sin_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SIN_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("anulaciones", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(crear_roles, borrar_roles),
        migrations.RunPython(trigger, sin_trigger),
    ]
