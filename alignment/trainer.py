"""TRL does the training: SFTTrainer, then DPOTrainer on the same LoRA adapter, with PEFT. Each stage
checkpoints into the run's folder and resumes from its last checkpoint, so a stopped run goes on.

After SFT, DPO compares against the SFT adapter (TRL copies it as the reference adapter), so preference
tuning moves away from what SFT learnt only as far as the pairs ask."""

import time
from collections.abc import Callable
from pathlib import Path

from alignment import base_model
from alignment.data import TrainingData
from alignment.recipe import Recipe, Stage

CHECKPOINT_STEPS = 100


def _common(stage: Stage, recipe: Recipe, folder: Path) -> dict:
    return {
        "output_dir": str(folder),
        "num_train_epochs": stage.epochs,
        "max_steps": stage.max_steps or -1,
        "learning_rate": stage.learning_rate,
        "per_device_train_batch_size": stage.batch_size,
        "max_length": stage.max_length,
        "seed": recipe.seed,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": CHECKPOINT_STEPS,
        "save_total_limit": 1,
        "report_to": [],
        "use_cpu": True,
        "bf16": False,  # TRL's default: emulated on CPUs without bf16 units, 25 times slower here
        "activation_checkpointing": False,  # a 135M model's activations fit: recomputing them costs a third
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
    }


def _progress_callback(stage: str, progress: Callable[[dict], None]):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" in logs:
                progress({"stage": stage, "step": state.global_step, "steps": state.max_steps, "loss": logs["loss"]})

    return Progress()


def completions(rows: list[dict]) -> list[dict]:
    """One prompt/completion row per assistant turn (its conversation so far as the prompt): TRL then computes
    the loss on the answers only, not on the evidence and questions the model is given."""
    out = []
    for row in rows:
        messages = row["messages"]
        for index, message in enumerate(messages):
            if message["role"] == "assistant" and index:
                out.append({"prompt": messages[:index], "completion": [message]})
    return out


def _resume(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.exists() else None


def _fit(trainer, folder: Path, metrics: dict, stage: str) -> None:
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=_resume(folder))
    metrics[f"{stage}_loss"] = round(float(result.training_loss), 4)
    metrics[f"{stage}_steps"] = int(result.global_step)
    metrics[f"{stage}_seconds"] = round(time.monotonic() - started, 1)
    history = [row for row in trainer.state.log_history if "loss" in row]
    if history:
        metrics[f"{stage}_first_loss"], metrics[f"{stage}_last_loss"] = history[0]["loss"], history[-1]["loss"]
    accuracies = [row["rewards/accuracies"] for row in trainer.state.log_history if "rewards/accuracies" in row]
    if accuracies:
        metrics[f"{stage}_reward_accuracy_last"] = round(float(accuracies[-1]), 4)


def train(*, recipe: Recipe, data: TrainingData, folder: Path, progress: Callable[[dict], None]) -> dict:
    """Train; the adapter lands in folder/adapter (adapter_model.safetensors, adapter_config.json)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, PeftModel, get_peft_model
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    torch.manual_seed(recipe.seed)
    model, tokenizer = base_model.load()
    lora = LoraConfig(
        r=recipe.lora.rank,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=list(recipe.lora.targets),
        task_type="CAUSAL_LM",
    )
    metrics: dict = {"heads": model.config.num_attention_heads, "kv_heads": model.config.num_key_value_heads}
    if "sft" in recipe.stages:
        sft_folder = folder / "sft"
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(**_common(recipe.sft, recipe, sft_folder)),
            train_dataset=Dataset.from_list(completions(data.sft)),
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_progress_callback("sft", progress)],
        )
        _fit(trainer, sft_folder, metrics, "sft")
        model = trainer.model
    if "dpo" in recipe.stages:
        if not isinstance(model, PeftModel):
            model = get_peft_model(model, lora)
        dpo_folder = folder / "dpo"
        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(**_common(recipe.dpo, recipe, dpo_folder), beta=recipe.dpo.beta),
            train_dataset=Dataset.from_list(data.preferences),
            processing_class=tokenizer,
            callbacks=[_progress_callback("dpo", progress)],
        )
        _fit(trainer, dpo_folder, metrics, "dpo")
        model = trainer.model
    model.save_pretrained(folder / "adapter", selected_adapters=["default"])
    return metrics
