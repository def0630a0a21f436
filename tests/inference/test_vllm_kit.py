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
    command = _dry_run(TENSOR_PARALLEL_SIZE="2", SPECULATIVE="ngram", VLLM_API_KEY="k")

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
