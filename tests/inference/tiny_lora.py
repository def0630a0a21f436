"""A LoRA adapter in GGUF made on the spot for the bundled model: random (seeded) low-rank updates of every
layer's attention query, strong enough that applying it changes what the model writes. Never downloaded."""

from pathlib import Path

import gguf
import numpy as np

TARGET = "attn_q.weight"


def tiny_lora(base_model: Path, out: Path, *, rank: int = 4, seed: int = 0) -> Path:
    reader = gguf.GGUFReader(base_model)
    architecture = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = gguf.GGUFWriter(out, architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    generator = np.random.default_rng(seed)
    for tensor in reader.tensors:
        if not tensor.name.endswith(TARGET):
            continue
        columns, rows = (int(n) for n in tensor.shape[:2])  # ggml order: ne0 (input) first
        name = tensor.name.removesuffix(".weight")
        # llama.cpp: lora_a is [input, rank], lora_b is [rank, output] in ggml order (numpy reverses it)
        writer.add_tensor(f"{name}.weight.lora_a", generator.normal(0, 0.5, (rank, columns)).astype(np.float32))
        writer.add_tensor(f"{name}.weight.lora_b", generator.normal(0, 0.5, (rows, rank)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
