from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector lives in `public`; every tenant schema reaches it through its search_path."""

    dependencies = [("tenants", "0001_initial")]

    operations = [VectorExtension()]
