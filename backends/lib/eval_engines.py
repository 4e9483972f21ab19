"""The two engines an eval job answers with, greedy and seeded: llama.cpp on a GGUF (what the
person chats with and ships) and transformers on an HF folder (+ PEFT adapter)."""

from __future__ import annotations

from typing import Any, Protocol

from backends.lib.chat_decode import ChatDecoder, Decoded
from backends.lib.chat_template import ChatTemplateError
from studio.evaluation.engines import LLAMA_CPP
from studio.evaluation.jobs import EvalConfig


class Engine(Protocol):
    def answer(self, messages: list[dict[str, str]]) -> str: ...

    def close(self) -> None: ...


class LlamaEngine:
    """Greedy decoding through the chat worker's decoder (the GGUF's own chat template)."""

    def __init__(self, config: EvalConfig) -> None:
        from backends.chat import open_llama

        self.config = config
        self.llm = open_llama(config.model_path, config.adapter_path, n_ctx=config.n_ctx,
                              n_threads=config.threads or None, seed=config.seed,
                              verbose=False)
        try:
            self.decoder = ChatDecoder(self.llm)
        except ChatTemplateError as error:
            self.llm.close()
            raise ChatTemplateError(f"{config.model_path}: {error}") from error

    def answer(self, messages: list[dict[str, str]]) -> str:
        # temperature 0 is greedy in llama.cpp; the seed is set per prompt all the same.
        pieces = self.decoder.stream(messages, 0.0, 1.0, self.config.max_new_tokens,
                                     self.config.seed, Decoded())
        return "".join(pieces).strip()

    def close(self) -> None:
        self.llm.close()


class TransformersEngine:
    def __init__(self, config: EvalConfig) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(config.seed)
        self.config = config
        self.tokenizer = AutoTokenizer.from_pretrained(config.model_path)
        model: Any = AutoModelForCausalLM.from_pretrained(config.model_path,
                                                          dtype=torch.float32)
        if config.adapter_path:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, config.adapter_path)
        model.eval()
        self.model = model

    def answer(self, messages: list[dict[str, str]]) -> str:
        import torch

        tokenizer = self.tokenizer
        ids: Any = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=self.config.max_new_tokens,
                                      do_sample=False,
                                      pad_token_id=tokenizer.pad_token_id or
                                      tokenizer.eos_token_id)
        return str(tokenizer.decode(out[0, ids["input_ids"].shape[1]:],
                                    skip_special_tokens=True))

    def answer_batch(self, conversations: list[list[dict[str, str]]]) -> list[str]:
        """Greedy answers to several prompts in one generate call (left-padded): on a CPU a
        batch of 8 costs little more than one prompt, where one by one costs 8 times."""
        import torch

        tokenizer = self.tokenizer
        tokenizer.padding_side = "left"  # generation continues from the right end
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        texts = [tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                               tokenize=False) for messages in conversations]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = self.model.generate(**encoded, max_new_tokens=self.config.max_new_tokens,
                                      do_sample=False, pad_token_id=tokenizer.pad_token_id)
        width = encoded["input_ids"].shape[1]
        return [str(text) for text in tokenizer.batch_decode(out[:, width:],
                                                             skip_special_tokens=True)]

    def close(self) -> None:
        self.model = None


class BatchedAnswers:
    """Answers to a job's prompts in order, generated ``size`` at a time when the engine can
    batch (transformers), one at a time otherwise (llama.cpp): the job still handles, saves
    and reports each prompt on its own, so progress and resume work as before."""

    def __init__(self, engine: Engine, conversations: list[list[dict[str, str]]],
                 size: int = 8) -> None:
        self.engine, self.conversations, self.size = engine, conversations, size
        self.ready: dict[int, str] = {}

    def answer(self, index: int) -> str:
        batch = getattr(self.engine, "answer_batch", None)
        if batch is None or self.size <= 1:
            return self.engine.answer(self.conversations[index])
        if index not in self.ready:
            chunk = self.conversations[index:index + self.size]
            self.ready = dict(enumerate(batch(chunk), start=index))
        return self.ready.pop(index)


def open_engine(config: EvalConfig) -> Engine:
    return LlamaEngine(config) if config.engine == LLAMA_CPP else TransformersEngine(config)
