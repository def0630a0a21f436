"""A tiny OpenAI-compatible server for the failure cases a real one will not produce on demand."""

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLlm:
    """`scenario` decides every answer: ok, slow, malformed, error, context_error, unavailable, drop, endless."""

    def answer(self, text: str) -> None:
        """Stream `text` word by word in the `ok` scenario."""
        words = text.split(" ")
        self.tokens = [words[0]] + [f" {word}" for word in words[1:]]

    def __init__(self):
        self.scenario = "ok"
        self.requests: list[dict] = []
        self.open_connections = 0
        self.disconnected = threading.Event()
        self.delay = 2.0
        self.tokens = ["Hello", " there", "."]
        self.token_delay = 0.0
        self.partial = ["Partial", " answer"]  # what `drop` sends before the connection closes
        self.endless_sentence = ""  # what `endless` repeats (else numbered words that never end a sentence)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._start(200, "application/json")
                self.wfile.write(json.dumps({"data": [{"id": "fake"}]}).encode())

            def do_POST(self):
                with fake._lock:
                    fake.open_connections += 1
                try:
                    body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                    fake.requests.append({"body": body, "headers": dict(self.headers)})
                    self._body = body
                    getattr(self, f"_{fake.scenario}")()
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnected.set()
                finally:
                    with fake._lock:
                        fake.open_connections -= 1

            def _start(self, status=200, content_type="text/event-stream"):
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("connection", "close")
                self.end_headers()

            def _event(self, payload):
                data = payload if isinstance(payload, str) else json.dumps(payload)
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

            def _chunk(self, text, finish=None):
                return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}

            def _ok(self):
                if not self._body.get("stream"):
                    self._start(200, "application/json")
                    answer = {"role": "assistant", "content": "".join(fake.tokens)}
                    self.wfile.write(json.dumps({"choices": [{"message": answer, "finish_reason": "stop"}]}).encode())
                    return
                self._start()
                self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
                for token in fake.tokens:
                    self._event(self._chunk(token))
                    time.sleep(fake.token_delay)
                self._event(self._chunk("", "stop"))
                self._event("[DONE]")

            def _slow(self):
                time.sleep(fake.delay)
                self._ok()

            def _malformed(self):
                self._start()
                self._event("{this is not json")

            def _error(self):
                self._start(500, "application/json")
                self.wfile.write(json.dumps({"error": {"message": "boom: the model crashed"}}).encode())

            def _context_error(self):
                self._start(400, "application/json")
                message = "Requested tokens (9000) exceed context window of 8192"
                self.wfile.write(json.dumps({"error": {"message": message}}).encode())

            def _unavailable(self):
                self._start(503, "application/json")
                self.wfile.write(b'{"error": {"message": "overloaded"}}')

            def _drop(self):
                self._start()
                for word in fake.partial:
                    self._event(self._chunk(word))
                # the connection closes here, without a finish_reason or [DONE]

            def _endless(self):
                self._start()
                for n in range(10_000):
                    self._event(self._chunk(f" {fake.endless_sentence}" if fake.endless_sentence else f" w{n}"))
                    time.sleep(0.01)

        return Handler

    @contextlib.contextmanager
    def running(self):
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
