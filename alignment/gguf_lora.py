"""A PEFT LoRA adapter (safetensors, for vLLM) written again as a GGUF LoRA for llama.cpp's server.

PEFT keeps A as [rank, in] and B as [out, rank], the shapes llama.cpp reads as `lora_a` and `lora_b`. Module
names map to llama.cpp's (model.layers.3.self_attn.q_proj → blk.3.attn_q). llama.cpp's llama conversion
permutes the rows of the query and key weights (rotary halves interleaved); the update B·A must be permuted
the same way, and since the permutation acts on output rows, it is applied to B.
"""

import json
import re
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
KEY = re.compile(r"layers\.(\d+)\.(self_attn\.\w+_proj|mlp\.\w+_proj)\.lora_([AB])(?:\.default)?\.weight$")


def permute_rows(weights: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's `permute` of a query/key weight's rows, for `heads` heads."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def convert(adapter_folder: Path, out: Path, *, heads: int, kv_heads: int, architecture: str = "llama") -> Path:
    config = json.loads((adapter_folder / "adapter_config.json").read_text())
    tensors = load_file(adapter_folder / "adapter_model.safetensors")
    pairs: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        found = KEY.search(key)
        if found is None:
            raise ValueError(f"{key}: not a LoRA weight of a module llama.cpp knows")
        layer, module, side = int(found[1]), found[2], found[3]
        pairs.setdefault((layer, module), {})[side] = value.astype(np.float32)
    writer = gguf.GGUFWriter(out, architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config["lora_alpha"]))
    for (layer, module), weights in sorted(pairs.items()):
        lora_a, lora_b = weights["A"], weights["B"]
        if module == "self_attn.q_proj":
            lora_b = permute_rows(lora_b, heads)
        elif module == "self_attn.k_proj":
            lora_b = permute_rows(lora_b, kv_heads)
        name = f"blk.{layer}.{MODULES[module]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(lora_a))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(lora_b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
