# An alert raised in a ward other than the one whose camera saw it (a watchlist hit in another
# covered ward) has no camera of its own: wards never share rows.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_clip_job_lease"),
        ("cameras", "0003_recording_segments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="camera",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alerts",
                to="cameras.camera",
                verbose_name="camera",
            ),
        ),
    ]
