"""The vLLM kit cannot run here (no GPU): its launch script is syntax-checked and its command line checked."""

import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

KIT = Path(settings.BASE_DIR) / "inference" / "vllm"
BASH = shutil.which("bash") or "/bin/bash"


def _dry_run(**env) -> str:
    result = subprocess.run(
        [BASH, str(KIT / "launch.sh")],
        env={**os.environ, "DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_launch_script_is_valid_bash():
    subprocess.run([BASH, "-n", str(KIT / "launch.sh")], check=True)


def test_the_answer_server_gets_quantization_prefix_caching_and_chunked_prefill():
    command = _dry_run(TENSOR_PARALLEL_SIZE="2", SPECULATIVE="ngram", LLM_API_KEY="k")

    for flag in [
        "vllm serve Qwen/Qwen2.5-7B-Instruct-AWQ",
        "--quantization awq_marlin",
        "--enable-prefix-caching",
        "--enable-chunked-prefill",
        "--max-num-seqs 64",
        "--gpu-memory-utilization 0.90",
        "--tensor-parallel-size 2",
        "--speculative-config",
        "--api-key k",
    ]:
        assert flag in command, flag


def test_the_guard_role_serves_a_guard_model_on_its_own_port():
    command = _dry_run(ROLE="guard")

    assert "Llama-Guard" in command and "--port 8002" in command and "--quantization" not in command


def test_an_unknown_speculative_method_is_refused():
    result = subprocess.run(
        [BASH, str(KIT / "launch.sh")],
        env={**os.environ, "DRY_RUN": "1", "SPECULATIVE": "magic"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "SPECULATIVE" in result.stderr


def test_vllm_stays_out_of_the_appliances_requirements():
    appliance = (Path(settings.BASE_DIR) / "requirements.txt").read_text().lower()

    assert "vllm" not in appliance
    assert "vllm==" in (KIT / "requirements.txt").read_text()


def _flags(command: str) -> set[str]:
    return {word for word in command.split() if word.startswith("--")}


def test_every_flag_the_script_passes_exists_in_the_pinned_vllm():
    listed = (KIT / "serve-flags.txt").read_text().splitlines()
    pinned = next(line for line in (KIT / "requirements.txt").read_text().splitlines() if line.startswith("vllm=="))
    assert f"vllm-{pinned.split('==')[1]}-" in listed[0]  # the flag list was read from the pinned wheel
    known = set(listed[1:])
    commands = [
        _dry_run(),
        _dry_run(ROLE="guard"),
        _dry_run(SPECULATIVE="ngram", LLM_API_KEY="k", KV_CACHE_DTYPE="fp8", QUANTIZATION="fp8"),
        _dry_run(ADAPTERS="support=/adapters/support legal=/adapters/legal"),
    ]
    used = set().union(*(_flags(command) for command in commands))
    assert used - known == set()
    assert "--disable-log-requests" not in known  # the flag the kit used to pass, gone in this vLLM


def test_the_api_key_is_the_appliances_own_variable():
    assert "--api-key k" in _dry_run(LLM_API_KEY="k")
    assert "LLM_API_KEY" in (KIT / "README.md").read_text() and "VLLM_API_KEY" not in (KIT / "README.md").read_text()


def test_adapters_are_served_by_name_with_lora_enabled():
    command = _dry_run(ADAPTERS="support=/adapters/support legal=/adapters/legal", MAX_LORA_RANK="8")

    assert "--enable-lora" in command and "--max-lora-rank 8" in command and "--max-loras 2" in command
    assert "--lora-modules support=/adapters/support legal=/adapters/legal" in command
    assert "--enable-lora" not in _dry_run()
