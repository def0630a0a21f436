#!/usr/bin/env bash
# Start vLLM's OpenAI-compatible server for Enclave on a GPU host. Settings come from the
# environment (defaults below); DRY_RUN=1 prints the command instead of running it.
# See README.md in this folder for what each setting does and how to size the GPU.
set -euo pipefail

ROLE="${ROLE:-answer}"                       # answer | guard
if [[ "$ROLE" == "guard" ]]; then
  MODEL="${MODEL:-meta-llama/Llama-Guard-3-1B}"
  SERVED_NAME="${SERVED_NAME:-enclave-guard}"
  PORT="${PORT:-8002}"
  QUANTIZATION="${QUANTIZATION:-}"
  MAX_MODEL_LEN="${MAX_MODEL_LEN:-4096}"
  GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.20}"
else
  MODEL="${MODEL:-Qwen/Qwen2.5-7B-Instruct-AWQ}"
  SERVED_NAME="${SERVED_NAME:-enclave-llm}"
  PORT="${PORT:-8001}"
  QUANTIZATION="${QUANTIZATION:-awq_marlin}"  # awq_marlin | gptq_marlin | fp8 | "" (none)
  MAX_MODEL_LEN="${MAX_MODEL_LEN:-8192}"
  GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.90}"
fi
HOST="${HOST:-0.0.0.0}"
MAX_NUM_SEQS="${MAX_NUM_SEQS:-64}"
MAX_NUM_BATCHED_TOKENS="${MAX_NUM_BATCHED_TOKENS:-8192}"
TENSOR_PARALLEL_SIZE="${TENSOR_PARALLEL_SIZE:-1}"
SPECULATIVE="${SPECULATIVE:-}"               # "" | ngram
KV_CACHE_DTYPE="${KV_CACHE_DTYPE:-auto}"     # auto | fp8 (half the KV-cache memory; see README.md)
API_KEY="${LLM_API_KEY:-}"                   # the same LLM_API_KEY the appliance sends
ADAPTERS="${ADAPTERS:-}"                     # "name=/path/to/adapter name2=/path2": LoRA adapters (PEFT folders)
MAX_LORA_RANK="${MAX_LORA_RANK:-16}"         # the largest rank among ADAPTERS

args=(serve "$MODEL"
  --host "$HOST" --port "$PORT"
  --served-model-name "$SERVED_NAME"
  --max-model-len "$MAX_MODEL_LEN"
  --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION"
  --max-num-seqs "$MAX_NUM_SEQS"
  --max-num-batched-tokens "$MAX_NUM_BATCHED_TOKENS"
  --tensor-parallel-size "$TENSOR_PARALLEL_SIZE"
  --kv-cache-dtype "$KV_CACHE_DTYPE"
  --enable-prefix-caching
  --enable-chunked-prefill)
if [[ -n "$QUANTIZATION" ]]; then
  args+=(--quantization "$QUANTIZATION")
fi
if [[ "$SPECULATIVE" == "ngram" ]]; then
  args+=(--speculative-config '{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4}')
elif [[ -n "$SPECULATIVE" ]]; then
  echo "SPECULATIVE must be empty or ngram, not $SPECULATIVE" >&2
  exit 2
fi
if [[ -n "$API_KEY" ]]; then
  args+=(--api-key "$API_KEY")
fi
if [[ -n "$ADAPTERS" ]]; then
  # Each adapter is served as a model of its own name; the appliance lists the names in ENCLAVE_LLM_ADAPTERS
  # and a variant's `adapter` names one (the request's model).
  read -r -a adapter_list <<< "$ADAPTERS"
  args+=(--enable-lora --max-lora-rank "$MAX_LORA_RANK" --max-loras "${#adapter_list[@]}" --lora-modules "${adapter_list[@]}")
fi

if [[ "${DRY_RUN:-0}" == "1" ]]; then
  printf '%q ' vllm "${args[@]}"
  echo
  exit 0
fi
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-0}"  # set 1 once the weights are in the local cache
exec vllm "${args[@]}"
