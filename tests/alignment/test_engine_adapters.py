"""The embedded engine loads the tenants' adapter files when it starts, and a broken one does not stop it."""

import httpx

from inference.embedded import bundled_model_path
from tests.inference.tiny_lora import tiny_lora
from tests.processes import llama_server_process


def test_the_engine_loads_every_tenants_adapter_and_skips_a_broken_file(tmp_path, monkeypatch):
    good = tmp_path / "tenant_a" / "adapters" / "lora-good" / "adapter.gguf"
    broken = tmp_path / "tenant_b" / "adapters" / "lora-broken" / "adapter.gguf"
    for path in (good, broken):
        path.parent.mkdir(parents=True)
    tiny_lora(bundled_model_path(), good)
    broken.write_bytes(b"GGUF truncated")
    monkeypatch.setenv("ENCLAVE_FILE_STORE", str(tmp_path))

    with llama_server_process() as (base_url, _process):
        listed = httpx.get(base_url.removesuffix("/v1") + "/lora-adapters").json()

    assert [(item["id"], item["path"], item["scale"]) for item in listed] == [(0, str(good), 0.0)]
