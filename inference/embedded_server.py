"""The embedded engine's server: llama-cpp-python's OpenAI-compatible server, its prompt reuse kept per tenant.

llama-cpp-python ignores vLLM's `cache_salt`. Left alone, a request reuses the longest prefix of the prompt
evaluated just before it, and its prompt cache (`--cache`) restores the closest prompt any request left, so
another tenant's identical passages and question would be answered faster: a timing probe of that tenant's
prompts. Here the request's `cache_salt` (none: the public schema) names a partition. A request of another
partition than the model's last one starts from an empty context, and the prompt cache finds only prompts
of the request's own partition. Nothing is shared across tenants, the system prompt included: re-reading
it is cheap for the embedded model, and a narrower rule would be one more thing to get right.

Runs in the model server's process, without Django: `python -m inference.embedded_server` with
llama_cpp.server's options (inference/embedded.py builds the command).
"""

import argparse
import contextvars
import json

import llama_cpp
import uvicorn
from llama_cpp.server import app as server_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

SALT: contextvars.ContextVar[str] = contextvars.ContextVar("cache_salt", default="")


class SaltedCache(llama_cpp.LlamaRAMCache):
    """The prompt cache with every key led by the partition's salt: a token never equals a string, so a
    prompt of another partition shares no prefix with the request's and is never found."""

    salt = ""

    def _salted(self, key) -> tuple:
        return (self.salt, *key)

    def __getitem__(self, key):
        return super().__getitem__(self._salted(key))

    def __contains__(self, key) -> bool:
        return super().__contains__(self._salted(key))

    def __setitem__(self, key, value) -> None:
        super().__setitem__(self._salted(key), value)


def partition_enter(llama: llama_cpp.Llama, salt: str) -> None:
    """Called with the server's model lock held, before the request's prompt is evaluated."""
    if getattr(llama, "enclave_salt", None) != salt:
        llama.reset()  # no tokens evaluated: nothing of the last partition's context is reused
        llama.enclave_salt = salt
    if llama.cache is not None:
        if not isinstance(llama.cache, SaltedCache):
            llama.set_cache(SaltedCache(capacity_bytes=llama.cache.capacity_bytes))
        llama.cache.salt = salt


def salt_of(body: bytes) -> str:
    try:
        salt = json.loads(body).get("cache_salt")
    except (ValueError, AttributeError):
        return ""
    return salt if isinstance(salt, str) else ""


class SaltFromBody:
    """ASGI middleware: the request body's `cache_salt` into SALT, the body handed on unchanged (the server's
    request models drop fields they do not know)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1]["type"] == "http.request" and messages[-1].get("more_body"):
            messages.append(await receive())
        token = SALT.set(salt_of(b"".join(message.get("body", b"") for message in messages)))

        async def replay():
            return messages.pop(0) if messages else await receive()

        try:
            await self.app(scope, replay, send)
        finally:
            SALT.reset(token)


_prepare_request_resources = server_app.prepare_request_resources


def _prepare_in_partition(body, llama_proxy, body_model, kwargs):
    llama = _prepare_request_resources(body, llama_proxy, body_model, kwargs)
    partition_enter(llama, SALT.get())
    return llama


def main() -> None:
    parser = argparse.ArgumentParser(description="llama-cpp-python's server, prompt reuse kept per tenant")
    add_args_from_model(parser, Settings)
    args = parser.parse_args()
    server_settings = parse_model_from_args(ServerSettings, args)
    app = server_app.create_app(
        server_settings=server_settings, model_settings=[parse_model_from_args(ModelSettings, args)]
    )
    app.add_middleware(SaltFromBody)
    # Every completion, streamed or not, gets its model here while holding the model lock.
    server_app.prepare_request_resources = _prepare_in_partition
    uvicorn.run(app, host=server_settings.host, port=server_settings.port)


if __name__ == "__main__":
    main()
