"""Fine-tune the bundled MiniLM end to end as a one-logit text classifier: the harm model and the injection
detector are both trained here (safety/training/harm_model.py, injection_model.py say on what).

Each row has a label (1: flag it) and a weight (the callers balance the classes and the kinds of benign rows).
A text longer than `max_tokens` keeps its end, as the served model does (retrieval/encoders.py TextEncoder).
Every `evaluate_every` steps the dev rows are scored and `select` says how good that is (the recall at the
operating point the product uses); the best state is kept, and training stops after `patience` evaluations
without a better one. A checkpoint is written at each evaluation: a stopped run started again resumes there.
The temperature that calibrates the best state's probabilities is fitted on dev (`temperature_fit`).
"""

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval import encoder_training


@dataclass(frozen=True)
class Settings:
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    seed: int = 2026
    max_tokens: int = 128
    threads: int = 2
    evaluate_every: int = 100
    patience: int = 4
    max_steps: int = 0  # 0: as many as the epochs give


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: np.ndarray  # 1: the detector should flag the text
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def encode(texts: list[str], max_tokens: int) -> list[np.ndarray]:
    """Word-piece ids of every text, its end kept when too long."""
    tok = encoder_training.tokenizer()
    tok.truncation_side = "left"
    encoded = tok(list(texts), truncation=True, max_length=max_tokens)
    return [np.asarray(ids, dtype=np.int32) for ids in encoded["input_ids"]]


def logits_of(model, ids: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    import torch

    order = np.argsort([len(x) for x in ids], kind="stable")
    found = np.zeros(len(ids), dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            found[rows] = model(*encoder_training.collate(ids, None, rows))[:, 0].numpy()
    model.train()
    return found


def train(
    rows: Labelled, dev: Labelled, select: Callable[[np.ndarray], float], out: Path, settings: Settings, progress=print
) -> dict:
    """Trains (or resumes) into `out`, leaving the best state in best.pt; returns what the card records."""
    import torch

    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    ids, dev_ids = encode(rows.texts, settings.max_tokens), encode(dev.texts, settings.max_tokens)
    lengths = np.array([len(x) for x in ids])
    labels = torch.tensor(rows.labels, dtype=torch.float32)
    weights = torch.tensor(rows.weights, dtype=torch.float32)
    steps_per_epoch = math.ceil(len(rows) / settings.batch_size)
    total = settings.max_steps or max(1, int(steps_per_epoch * settings.epochs))
    model = encoder_training.classifier_build(1)
    encoder_training.freeze_word_embeddings(model)
    optimizer, scheduler = encoder_training.optimizer_build(model, settings, total)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    checkpoint = out / "checkpoint.pt"
    step, seconds, history, best = 0, 0.0, [], {"score": -1.0, "step": 0}
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds, history, best = state["step"], state["seconds"], state["history"], state["best"]
        progress(f"resumed at step {step} of {total}")
    model.train()
    started, running = time.perf_counter(), []
    stopped = _patience_spent(history, best, settings.patience)
    while step < total and not stopped:
        epoch, within = divmod(step, steps_per_epoch)
        order = encoder_training.batches_order(len(rows), lengths, settings.batch_size, settings.seed + epoch)
        for batch in order[within:]:
            if step >= total or stopped:
                break
            logits = model(*encoder_training.collate(ids, None, batch))[:, 0]
            loss = (loss_fn(logits, labels[batch]) * weights[batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running.append(loss.item())
            if step % settings.evaluate_every == 0 or step == total:
                score = float(select(logits_of(model, dev_ids)))
                history.append({"step": step, "dev": round(score, 4), "loss": round(float(np.mean(running)), 4)})
                running = []
                if score > best["score"]:
                    best = {"score": score, "step": step}
                    torch.save(model.state_dict(), out / "best.pt")
                stopped = _patience_spent(history, best, settings.patience)
                elapsed = seconds + time.perf_counter() - started
                state = {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "seconds": elapsed,
                    "history": history,
                    "best": best,
                }
                torch.save(state, checkpoint.with_suffix(".partial"))
                os.replace(checkpoint.with_suffix(".partial"), checkpoint)
                progress(f"step {step}/{total} {history[-1]} best {best} {elapsed / 60:.1f} min")
    state = torch.load(checkpoint, weights_only=False)
    return {
        "steps": state["step"],
        "best_step": best["step"],
        "stopped_early": state["step"] < total,
        "dev_history": history,
        "examples": len(rows),
        "training_seconds": round(state["seconds"]),
        "settings": asdict(settings),
    }


def _patience_spent(history: list[dict], best: dict, patience: int) -> bool:
    return sum(1 for h in history if h["step"] > best["step"]) >= patience


def best_model(out: Path):
    import torch

    model = encoder_training.classifier_build(1)
    model.load_state_dict(torch.load(out / "best.pt", weights_only=True))
    model.eval()
    return model


def export(out: Path, name: str) -> Path:
    """best.pt -> <name>.onnx -> <name>.int8.onnx (fused: encoder_training.onnx_export), the file the product loads."""
    int8 = out / f"{name}.int8.onnx"
    encoder_training.onnx_export(best_model(out), out / f"{name}.onnx", int8, fused=True)
    return int8


def temperature_fit(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the log loss of sigmoid(logits / T) on these rows."""
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.25), math.log(8.0), 61)):
        p = np.clip(1.0 / (1.0 + np.exp(-logits / t)), 1e-7, 1 - 1e-7)
        loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return round(best_t, 4)
