# A migration of its own: on PostgreSQL a unique index is not added in the transaction that
# just rewrote every row's key (0003).
import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("personio", "0003_webhooks_and_delta")]

    operations = [
        migrations.AlterField(
            model_name="personiointegration",
            name="webhook_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
