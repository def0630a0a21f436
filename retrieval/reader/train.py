"""Fine-tune the reader: the bundled MiniLM as a cross-encoder with two heads, trained end to end on CPU.

Input: [CLS] question [SEP] sentence [SEP] its neighbours [SEP], at most MAX_TOKENS word pieces; output: two
logits, `holds` (this sentence holds the answer) and `answers` (its paragraph answers the question), over
the mean of the last layer (the pooling MiniLM was trained with). Examples are tokenised once into a cache;
the run saves a checkpoint every CHECKPOINT_STEPS steps and a stopped run resumes from it with the same
order of batches. `export` writes ONNX and the int8 file the appliance loads (retrieval/encoders.py).
"""

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval import encoders
from retrieval.reader.data import Example, pair_text

log = logging.getLogger(__name__)

MAX_TOKENS = 80  # question, sentence and as much of its neighbours as fits: 96 trained ~20% slower
CHECKPOINT_STEPS = 200
HEADS = ("holds", "answers")


@dataclass(frozen=True)
class Settings:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup_share: float = 0.05
    weight_decay: float = 0.01
    seed: int = 2026
    max_tokens: int = MAX_TOKENS
    threads: int = 2
    max_steps: int = 0  # 0: as many as the epochs give


def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(encoders.bundled_minilm_path()))


def encode(examples: list[Example], max_tokens: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Word-piece ids and token types of every pair, once."""
    tok = tokenizer()
    encoded = tok(
        [e.question for e in examples],
        [pair_text(e.sentence, e.context) for e in examples],
        truncation="only_second",
        max_length=max_tokens,
    )
    return [np.asarray(ids, dtype=np.int32) for ids in encoded["input_ids"]], [
        np.asarray(types, dtype=np.int8) for types in encoded["token_type_ids"]
    ]


def model_build(path: str | None = None):
    import torch
    from transformers import AutoModel

    class Reader(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path or str(encoders.bundled_minilm_path()))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(HEADS))

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return Reader()


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


def collate(ids: list[np.ndarray], types: list[np.ndarray], rows: np.ndarray):
    import torch

    width = max(len(ids[i]) for i in rows)
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    token_types = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for n, i in enumerate(rows):
        input_ids[n, : len(ids[i])] = ids[i]
        token_types[n, : len(types[i])] = types[i]
        mask[n, : len(ids[i])] = 1
    return torch.from_numpy(input_ids), torch.from_numpy(mask), torch.from_numpy(token_types)


def train(examples: list[Example], out: Path, settings: Settings, progress=print) -> dict:
    """Trains (or resumes) into `out`; returns what the card records of the run."""
    import torch

    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    ids, types = encode(examples, settings.max_tokens)
    lengths = np.array([len(x) for x in ids])
    labels = torch.tensor([[e.holds, e.answers] for e in examples], dtype=torch.float32)
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size)
    total = settings.max_steps or max(1, int(steps_per_epoch * settings.epochs))
    model = model_build()
    # The word embeddings stay as MiniLM learnt them: a few thousand steps see a fraction of the vocabulary,
    # and AdamW over 11.7 M embedding weights would take a third of each step.
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
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
    positives = labels.mean(0).clamp(min=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((1 - positives) / positives).sqrt())
    checkpoint = out / "checkpoint.pt"
    step, seconds, schedules = 0, 0.0, [{"from_step": 0, "total": total}]
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds = state["step"], state["seconds"]
        # A run continued past its first schedule restarts the decay from there; the card records each one.
        schedules = state.get("schedules") or [{"from_step": 0, "total": step}]
        if schedules[-1]["total"] != total:
            schedules.append({"from_step": step, "total": total})
        progress(f"resumed at step {step} of {total}")
    model.train()
    started, running = time.perf_counter(), []
    while step < total:
        epoch, within = divmod(step, steps_per_epoch)
        order = batches_order(len(examples), lengths, settings.batch_size, settings.seed + epoch)
        for rows in order[within:]:
            if step >= total:
                break
            input_ids, mask, token_types = collate(ids, types, rows)
            loss = loss_fn(model(input_ids, mask, token_types), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running.append(loss.item())
            if step % CHECKPOINT_STEPS == 0 or step == total:
                elapsed = seconds + time.perf_counter() - started
                torch.save(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "step": step,
                        "seconds": elapsed,
                        "schedules": schedules,
                    },
                    checkpoint.with_suffix(".partial"),
                )
                os.replace(checkpoint.with_suffix(".partial"), checkpoint)
                progress(f"step {step}/{total} loss {np.mean(running[-CHECKPOINT_STEPS:]):.4f} {elapsed / 60:.1f} min")
    model.eval()
    torch.save(model.state_dict(), out / "reader.pt")
    state = torch.load(checkpoint, weights_only=False)
    return {
        "steps": step,
        "examples": len(examples),
        "positives": {h: float(labels[:, i].mean()) for i, h in enumerate(HEADS)},
        "training_seconds": round(state["seconds"]),
        "schedules": state.get("schedules", schedules),
        "settings": asdict(settings),
    }


def export(out: Path, max_tokens: int = MAX_TOKENS) -> tuple[Path, Path]:
    """reader.pt -> reader.onnx (fp32) -> reader.int8.onnx (dynamic int8: MatMul and the embeddings)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = model_build()
    model.load_state_dict(torch.load(out / "reader.pt", weights_only=True))
    model.eval()
    sample = torch.ones((2, 16), dtype=torch.int64)
    fp32 = out / "reader.onnx"
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
    int8 = out / "reader.int8.onnx"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the quantizer logs every tensor it leaves alone at INFO
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gather"])
    finally:
        root.setLevel(level)
    return fp32, int8


def weights_from_checkpoint(out: Path) -> dict:
    """reader.pt from the last checkpoint: to export (and measure) a run that is still going or was stopped.
    Returns what the card records of the run so far."""
    import torch

    state = torch.load(out / "checkpoint.pt", weights_only=False)
    torch.save(state["model"], out / "reader.pt")
    schedules = state.get("schedules") or [{"from_step": 0, "total": state["step"]}]
    return {"steps": state["step"], "training_seconds": round(state["seconds"]), "schedules": schedules}


def card_write(path: Path, card: dict) -> None:
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
