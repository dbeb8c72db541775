"""The notices' stored texts go (0012 turned them into facts). A migration of its own: on
PostgreSQL the rows 0012 updated leave pending constraint triggers that forbid altering the
table in the same transaction."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("anulaciones", "0012_entregas_numeradas_avisos_como_hechos"),
    ]

    operations = [
        migrations.RemoveField(model_name='notificacion', name='texto'),
        migrations.RemoveField(model_name='notificacion', name='titulo'),
        migrations.RemoveField(model_name='notificacion', name='url'),
    ]
