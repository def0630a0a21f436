"""Safety classifiers by name, one cached instance each.

`classifier()` returns the configured one (settings.ENCLAVE_SAFETY_CLASSIFIER, else "embedded").
Every classifier implements base.Classifier and returns base.Verdict. Entries are dotted paths so
that naming a classifier never imports the others (the embedded one loads a model; a guard model
talks to a server).
"""

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from safety.classifiers.base import Classifier, Verdict

DEFAULT = "embedded"
REGISTRY: dict[str, str] = {
    "embedded": "safety.classifiers.embedded.EmbeddedClassifier",  # rules, then a model over sentence embeddings
    "rules": "safety.classifiers.rules.RulesClassifier",  # rules alone: no model, for tests and tiny machines
    "guard": "safety.classifiers.guard.GuardClassifier",  # a Llama Guard model over the OpenAI-compatible API
}

_instances: dict[str, Classifier] = {}
_lock = threading.Lock()


def register(name: str, path: str) -> None:
    """Make `name` resolve to the class at dotted `path` (constructed without arguments)."""
    REGISTRY[name] = path
    _instances.pop(name, None)


def classifier(name: str | None = None) -> Classifier:
    """The named classifier, or the configured one; built on first use, then the same instance."""
    name = name or getattr(settings, "ENCLAVE_SAFETY_CLASSIFIER", None) or DEFAULT
    with _lock:
        if name not in _instances:
            if name not in REGISTRY:
                raise LookupError(f"unknown safety classifier {name!r}; known: {', '.join(sorted(REGISTRY))}")
            _instances[name] = import_string(REGISTRY[name])()
        return _instances[name]


__all__ = ["REGISTRY", "Classifier", "Verdict", "classifier", "register"]
