"""The embedded engine's server: llama.cpp's own `llama-server`, from the prebuilt `xllamacpp` wheel.

It serves the OpenAI-compatible API (`/v1/chat/completions`, streamed or not, with `usage` and `timings`),
`/v1/models`, `/health`, `/metrics` and `/slots`, with `--parallel` slots decoded together (continuous
batching), each slot keeping the prompt it last read so a request that starts the same way reads only
what is new. Prompt reuse is by common prefix only (`n_cache_reuse` stays 0, no chunk is ever shifted in
from the middle of another prompt): the client puts the tenant's partition line first (inference/client.py,
`partitioned`), so nothing one tenant's request left in a slot or in the prompt cache ever shortens
another tenant's prompt.

Runs in the model server's own process, without Django: `python -m inference.embedded_server` with the
options below (inference/embedded.py builds the command).
"""

import argparse
import os
import signal
import threading
from pathlib import Path

import gguf
import xllamacpp

from inference.embedded import TRAINED_ADAPTERS

# Prompt lookup: drafts the next tokens by finding the last few generated tokens earlier in the context.
DRAFT_TYPES = {"ngram": xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE}


def lora_option(text: str) -> tuple[str, str]:
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"--lora takes NAME=PATH, not {text!r}")
    return name, path


def loadable(path: Path) -> bool:
    """A tenant's adapter file the engine can load: one broken file must not keep the engine from starting."""
    try:
        fields = gguf.GGUFReader(path).fields
        kind = bytes(fields["general.type"].parts[-1]).decode()
    except Exception as error:  # any unreadable file: skipped, said why
        print(f"skipping adapter {path}: {type(error).__name__}: {error}", flush=True)
        return False
    if kind != "adapter":
        print(f"skipping adapter {path}: its general.type is {kind!r}, not 'adapter'", flush=True)
    return kind == "adapter"


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="llama.cpp's server over a GGUF model (xllamacpp)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=2, help="slots decoded together")
    parser.add_argument("--context", type=int, default=8192, help="tokens of context per slot")
    parser.add_argument("--cache-mib", type=int, default=256, help="host memory for prompts slots left")
    parser.add_argument("--draft", choices=["off", *DRAFT_TYPES], default="off")
    parser.add_argument("--lora", type=lora_option, action="append", default=[], help="NAME=PATH (GGUF)")
    parser.add_argument("--lora-dir", help="also load every <tenant>/adapters/<name>/adapter.gguf under this folder")
    parser.add_argument("--verbosity", type=int, default=2)
    return parser.parse_args(argv)


def params(options: argparse.Namespace) -> xllamacpp.CommonParams:
    p = xllamacpp.CommonParams()
    p.model.path = options.model
    if options.alias:
        p.model_alias = {options.alias}
    p.hostnames = [options.host]
    p.port = options.port
    p.cpuparams.n_threads = options.threads
    p.cpuparams_batch.n_threads = options.threads
    p.n_parallel = options.parallel
    p.n_ctx = options.context * options.parallel  # llama-server splits n_ctx evenly among its slots
    p.cont_batching = True
    p.cache_prompt = True
    p.n_cache_reuse = 0  # prefix reuse only: see the module docstring
    p.cache_ram_mib = options.cache_mib
    p.endpoint_metrics = True
    p.endpoint_slots = True
    p.verbosity = options.verbosity
    if options.draft != "off":
        p.speculative.types = [DRAFT_TYPES[options.draft]]
    found = (
        [path for path in sorted(Path(options.lora_dir).glob(TRAINED_ADAPTERS)) if loadable(path)]
        if options.lora_dir
        else []
    )
    lora = [*options.lora, *((path.parent.name, str(path)) for path in found)]
    if lora:
        adapters = []
        for _name, path in lora:
            adapter = xllamacpp.CommonAdapterLoraInfo()
            adapter.path, adapter.scale = path, 0.0
            adapters.append(adapter)
        p.lora_adapters = adapters
        p.lora_init_without_apply = True  # no adapter applies unless a request names it
    return p


def main(argv=None) -> None:
    server = xllamacpp.Server(params(arguments(argv)))  # listening once this returns
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    print(f"llama-server listening on {server.listening_address}", flush=True)
    stopped.wait()
    os._exit(0)  # the server's native threads never join: the process ends here, its memory with it


if __name__ == "__main__":
    main()
