"""Fine-tune the reader: the bundled MiniLM as a cross-encoder with two heads, trained end to end on CPU.

Input: [CLS] question [SEP] sentence [SEP] its neighbours [SEP], at most MAX_TOKENS word pieces; output: two
logits, `holds` (this sentence holds the answer) and `answers` (its paragraph answers the question), over
the mean of the last layer (the pooling MiniLM was trained with). Examples are tokenised once into a cache;
the run saves a checkpoint every CHECKPOINT_STEPS steps and a stopped run resumes from it with the same
order of batches. `export` writes ONNX and the int8 file the appliance loads (retrieval/encoders.py).
"""

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval import encoder_training, encoders
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


def encode(examples: list[Example], max_tokens: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Word-piece ids and token types of every pair, once."""
    encoded = encoder_training.tokenizer()(
        [e.question for e in examples],
        [pair_text(e.sentence, e.context) for e in examples],
        truncation="only_second",
        max_length=max_tokens,
    )
    return [np.asarray(ids, dtype=np.int32) for ids in encoded["input_ids"]], [
        np.asarray(types, dtype=np.int8) for types in encoded["token_type_ids"]
    ]


def model_build(path: str | None = None):
    return encoder_training.classifier_build(len(HEADS), path)


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
    encoder_training.freeze_word_embeddings(model)
    positives = labels.mean(0).clamp(min=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((1 - positives) / positives).sqrt())
    checkpoint = out / "checkpoint.pt"
    step, seconds, schedules, state = 0, 0.0, [{"from_step": 0, "total": total}], None
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        step, seconds = state["step"], state["seconds"]
        schedules = state.get("schedules") or [{"from_step": 0, "total": step}]
        if schedules[-1]["total"] != total:
            # Going on past a schedule's end (or from a committed reader) starts a new one from here: fresh
            # AdamW moments and a new warm-up, then decay to zero at the new total; the card lists each one.
            schedules.append({"from_step": step, "total": total})
        progress(f"resumed at step {step} of {total}")
    optimizer, scheduler = encoder_training.optimizer_build(model, settings, total - schedules[-1]["from_step"])
    if state and "optimizer" in state and schedules[-1]["from_step"] < step:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    model.train()
    started, running = time.perf_counter(), []
    while step < total:
        epoch, within = divmod(step, steps_per_epoch)
        order = encoder_training.batches_order(len(examples), lengths, settings.batch_size, settings.seed + epoch)
        for rows in order[within:]:
            if step >= total:
                break
            input_ids, mask, token_types = encoder_training.collate(ids, types, rows)
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
                        "from_artifact": (state or {}).get("from_artifact"),
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
    } | ({"continued_from_sha256": state["from_artifact"]} if state.get("from_artifact") else {})


def export(out: Path) -> tuple[Path, Path]:
    """reader.pt -> reader.onnx (fp32) -> reader.int8.onnx (dynamic int8: MatMul and the embeddings)."""
    import torch

    model = model_build()
    model.load_state_dict(torch.load(out / "reader.pt", weights_only=True))
    fp32, int8 = out / "reader.onnx", out / "reader.int8.onnx"
    encoder_training.onnx_export(model, fp32, int8)
    return fp32, int8


def checkpoint_from_artifact(model_dir: Path, out: Path) -> dict:
    """The committed reader (int8, dequantized) as `out`'s checkpoint, at the step its card records: a later
    `train` goes on from there with the same order of batches. Returns the card it started from."""
    import torch

    card = encoders.artifact_check(model_dir / "reader.int8.onnx", model_dir / "card.json")
    model = encoder_training.classifier_from_int8(
        model_dir / "reader.int8.onnx", len(HEADS), frozen=encoder_training.FROZEN
    )
    run = card["training"]
    schedules = run.get("schedules") or [{"from_step": 0, "total": run["steps"]}]
    out.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "step": run["steps"], "seconds": run["training_seconds"]}
    torch.save(state | {"schedules": schedules, "from_artifact": card["sha256"]}, out / "checkpoint.pt")
    return card


def weights_from_checkpoint(out: Path) -> dict:
    """reader.pt from the last checkpoint: to export (and measure) a run that is still going or was stopped.
    Returns what the card records of the run so far."""
    import torch

    state = torch.load(out / "checkpoint.pt", weights_only=False)
    torch.save(state["model"], out / "reader.pt")
    schedules = state.get("schedules") or [{"from_step": 0, "total": state["step"]}]
    return {"steps": state["step"], "training_seconds": round(state["seconds"]), "schedules": schedules}
