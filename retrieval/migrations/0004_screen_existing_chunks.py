"""Screen the chunks indexed before injection screening existed, once, so that answers never have to."""

from django.db import migrations


def screen(apps, schema_editor):
    from safety.injection import scan  # app code on purpose: the same screening ingestion applies

    Chunk = apps.get_model("retrieval", "Chunk")
    flagged = []
    for chunk_id, text in Chunk.objects.filter(safety_flags=[]).values_list("id", "text").iterator(chunk_size=2000):
        flags = scan(text)
        if flags:
            flagged.append((chunk_id, list(flags)))
    for chunk_id, flags in flagged:
        Chunk.objects.filter(id=chunk_id).update(safety_flags=flags)


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0003_chunk_safety_flags")]

    operations = [migrations.RunPython(screen, migrations.RunPython.noop)]
