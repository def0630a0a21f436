"""The base a recipe trains: the embedded engine's bundled GGUF (SmolLM2-135M-Instruct), dequantized by
transformers once and kept under var/align/ as plain safetensors, keyed by the GGUF's sha256. Nothing is
downloaded."""

import os
import shutil
from pathlib import Path

from django.conf import settings

from inference.embedded import bundled_model_path
from retrieval.encoders import file_sha256


def base_sha256() -> str:
    return file_sha256(bundled_model_path())


def base_folder() -> Path:
    return Path(settings.VAR_DIR) / "align" / f"base-{base_sha256()[:16]}"


def load():
    """(model, tokenizer), fp32 on the CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = base_folder()
    if not (folder / "config.json").exists():
        gguf = bundled_model_path()
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = quantized.config
        if hasattr(config, "quantization_config"):  # dequantized already: train it as a plain model
            delattr(config, "quantization_config")
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict())
        model.tie_weights()
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        try:
            partial.rename(folder)  # whole or absent, whatever runs at once
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    return model, tokenizer
