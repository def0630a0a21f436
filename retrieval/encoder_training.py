"""What every encoder trained here shares: the bundled MiniLM with a linear head over its mean-pooled last layer,
batches of similar lengths, padding, and the export to ONNX and dynamic int8 that retrieval/encoders.py loads.

Used by the reader (retrieval/reader/train.py) and the safety detectors (safety/training/finetune.py); only
training commands import it (torch and transformers are not needed to serve).
"""

import json
import logging
import random
from pathlib import Path

import numpy as np

from retrieval import encoders


def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(encoders.bundled_minilm_path()))


def classifier_build(outputs: int, path: str | None = None):
    """MiniLM with `outputs` logits over the mean of its last layer (the pooling MiniLM was trained with)."""
    import torch
    from transformers import AutoModel

    class EncoderClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path or str(encoders.bundled_minilm_path()))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, outputs)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return EncoderClassifier()


def weights_from_int8(int8: Path) -> dict[str, np.ndarray]:
    """The weights of an int8 file `onnx_export` wrote, dequantized and named as the classifier's parameters.

    A committed artifact is where the next training run starts: its fp32 checkpoint is not committed (90 MB).
    Quantized MatMul weights are named after their node (`/encoder/.../query/MatMul_quant`) and stored
    transposed; quantized embeddings keep their parameter's name; the rest (biases, LayerNorm) are as trained."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(int8)).graph
    stored = {item.name: numpy_helper.to_array(item) for item in graph.initializer}

    def dequantized(base: str) -> np.ndarray:
        scale, zero = stored[f"{base}_scale"], stored[f"{base}_zero_point"]
        return ((stored[f"{base}_quantized"].astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)

    weights = {
        name: array for name, array in stored.items() if not name.endswith(("_quantized", "_scale", "_zero_point"))
    }
    for name in stored:
        if name.endswith(".weight_quantized"):  # embeddings (Gather): the parameter's own name
            weights[name.removesuffix("_quantized")] = dequantized(name.removesuffix("_quantized"))
    for node in graph.node:
        if node.op_type == "MatMulInteger" and node.name.endswith("MatMul_quant"):  # ".../query/MatMul_quant"
            module = node.name.rsplit("/", 1)[0].strip("/").replace("/", ".")
            weights[f"{module}.weight"] = dequantized(node.input[1].removesuffix("_quantized")).T
    return weights


def classifier_from_int8(int8: Path, outputs: int, frozen: tuple[str, ...] = ()):
    """The classifier with an int8 file's weights, dequantized; parameters named in `frozen` keep the base
    model's values (training never changed them: quantizing was their only change), as do the pooler's (the
    head reads the mean of the last layer, so the export leaves the pooler out)."""
    import torch

    model = classifier_build(outputs)
    weights = weights_from_int8(int8)
    state = model.state_dict()
    for name, _parameter in model.named_parameters():
        if name in frozen or name.startswith("encoder.pooler."):
            continue
        if name not in weights or tuple(weights[name].shape) != tuple(state[name].shape):
            raise ValueError(f"{int8} has no weight for {name} of shape {tuple(state[name].shape)}")
        state[name] = torch.tensor(weights[name])
    model.load_state_dict(state)
    return model


FROZEN = ("encoder.embeddings.word_embeddings.weight",)


def freeze_word_embeddings(model) -> None:
    """The word embeddings stay as MiniLM learnt them: a few thousand steps see a fraction of the vocabulary,
    and AdamW over 11.7 M embedding weights would take a third of each step."""
    for name, parameter in model.named_parameters():
        if name in FROZEN:
            parameter.requires_grad_(False)


def optimizer_build(model, settings, total: int):
    """AdamW over the trainable weights (the encoder at settings.learning_rate, the head at
    settings.head_learning_rate) and a schedule: linear warm-up over settings.warmup_share of `total`
    steps, then linear decay to zero at `total`."""
    import torch

    encoder_params = [p for n, p in model.named_parameters() if not n.startswith("head.") and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": settings.learning_rate},
            {"params": model.head.parameters(), "lr": settings.head_learning_rate},
        ],
        weight_decay=settings.weight_decay,
    )
    warmup = max(1, int(total * settings.warmup_share))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    return optimizer, scheduler


def batches_order(count: int, lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (less padding): shuffle, sort within windows of 50 batches, cut."""
    order = np.random.default_rng(seed).permutation(count)
    window = batch_size * 50
    batches = []
    for start in range(0, count, window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.Random(seed).shuffle(batches)
    return batches


def collate(ids: list[np.ndarray], types: list[np.ndarray] | None, rows: np.ndarray):
    """(input_ids, attention_mask, token_type_ids) tensors of `rows`, right-padded; types None: all zeros."""
    import torch

    width = max(len(ids[i]) for i in rows)
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    token_types = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for n, i in enumerate(rows):
        input_ids[n, : len(ids[i])] = ids[i]
        if types is not None:
            token_types[n, : len(types[i])] = types[i]
        mask[n, : len(ids[i])] = 1
    return torch.from_numpy(input_ids), torch.from_numpy(mask), torch.from_numpy(token_types)


def onnx_export(model, fp32: Path, int8: Path, *, fused: bool = False) -> None:
    """The model to ONNX (dynamic batch and length), then to dynamic int8 (MatMul and the embeddings).

    `fused`: exported with eager attention, its attention, LayerNorms and GELUs fused by onnxruntime's BERT
    optimizer, and the fused attention quantized too (about a fifth faster on 2 cores). The fused
    file's weights no longer map one to one onto the model's parameters (weights_from_int8 reads the head only),
    so the reader, whose next run starts from its committed file, is exported plain."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    if fused:
        for module in model.modules():
            if hasattr(getattr(module, "config", None), "_attn_implementation"):
                module.config._attn_implementation = "eager"  # SDPA exports as a graph the optimizer cannot fuse
    sample = torch.ones((2, 16), dtype=torch.int64)
    torch.onnx.export(
        model,
        (sample, sample, torch.zeros_like(sample)),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        | {"logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the optimizer and the quantizer log every node at INFO
    try:
        if fused:
            _bert_fused(model, fp32)
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather", *(["Attention"] if fused else [])],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT} if fused else {},
        )
    finally:
        root.setLevel(level)


def _bert_fused(model, fp32: Path) -> None:
    """fp32 rewritten in place by onnxruntime's BERT optimizer (offline, no provider-specific nodes)."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    config = next(m.config for m in model.modules() if hasattr(getattr(m, "config", None), "num_attention_heads"))
    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False  # fused, the word embeddings stay fp32: 23 -> 58 MB
    fused = optimizer.optimize_model(
        str(fp32),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        optimization_options=options,
        opt_level=0,
    )
    missing = [op for op in ("Attention", "SkipLayerNormalization") if not fused.get_fused_operator_statistics()[op]]
    if missing:
        raise RuntimeError(f"the BERT optimizer fused no {', '.join(missing)}: the exported graph has changed")
    fused.save_model_to_file(str(fp32))


def card_write(path: Path, card: dict) -> None:
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
