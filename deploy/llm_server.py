"""The bundled llama.cpp server (SmolLM2) as a service of its own: the image's `llm` command.

Serves on all interfaces at ENCLAVE_LLM_PORT (8081), with ENCLAVE_LLM_THREADS threads (default: every core
the container sees), so web servers and workers reach it at LLM_BASE_URL=http://<service>:8081/v1.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.embedded import server_command

if __name__ == "__main__":
    command = server_command(
        host="0.0.0.0",  # noqa: S104 - a container's service, reached through its network only
        port=int(os.environ.get("ENCLAVE_LLM_PORT", "8081")),
        threads=int(os.environ.get("ENCLAVE_LLM_THREADS", "0")) or None,
    )
    os.chdir(Path(__file__).resolve().parent.parent)  # the command runs `-m inference.embedded_server`
    os.execv(command[0], command)  # noqa: S606
