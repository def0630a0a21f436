"""A circuit breaker per model server: after repeated failures, callers get a fast, clear error
instead of each waiting for a dead server's timeouts; one trial request is let through per cooldown."""

import threading
import time
from dataclasses import dataclass

from inference.errors import LlmUnavailable


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False


class CircuitBreaker:
    def __init__(self, *, threshold: int, cooldown: float, clock=time.monotonic):
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def before(self, server: str) -> None:
        """Raise LlmUnavailable while the circuit is open; after the cooldown let one trial through."""
        with self._lock:
            circuit = self._circuits.setdefault(server, _Circuit())
            if circuit.opened_at is None:
                return
            waited = self.clock() - circuit.opened_at
            if waited >= self.cooldown and not circuit.trial_running:
                circuit.trial_running = True
                return
            retry_in = max(1, round(self.cooldown - waited))
            raise LlmUnavailable(f"the language model is unavailable; the appliance tries again in {retry_in} s")

    def succeeded(self, server: str) -> None:
        with self._lock:
            self._circuits[server] = _Circuit()

    def failed(self, server: str) -> None:
        with self._lock:
            circuit = self._circuits.setdefault(server, _Circuit())
            circuit.failures += 1
            circuit.trial_running = False
            if circuit.failures >= self.threshold:
                circuit.opened_at = self.clock()

    def is_open(self, server: str) -> bool:
        with self._lock:
            circuit = self._circuits.get(server)
            return bool(circuit and circuit.opened_at is not None)
