"""Where the injection detector is on (ENCLAVE_INJECTION_MODEL=1) when this migration runs: screen the chunks
indexed before it existed with it, once (about 80 ms a chunk on two cores): a chunk it flags gains the
"instruction" flag; flags it had are kept (the hidden-text flags cannot be found again in the stored text, which
lost its invisible characters). Off, nothing changes."""

from django.db import migrations


def screen(apps, schema_editor):
    from safety.injection import INSTRUCTION, model, scan  # app code on purpose: the same screening ingestion applies

    if not model.enabled():
        return

    Chunk = apps.get_model("retrieval", "Chunk")
    unflagged = Chunk.objects.exclude(safety_flags__contains=[INSTRUCTION])
    flagged = []
    for chunk_id, text, flags in unflagged.values_list("id", "text", "safety_flags").iterator(chunk_size=2000):
        if INSTRUCTION in scan(text):
            flagged.append((chunk_id, [INSTRUCTION, *flags]))
    for chunk_id, flags in flagged:
        Chunk.objects.filter(id=chunk_id).update(safety_flags=flags)


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0004_screen_existing_chunks")]

    operations = [migrations.RunPython(screen, migrations.RunPython.noop)]
