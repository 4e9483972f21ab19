"""The two engines an eval job answers with, greedy and seeded: llama.cpp on a GGUF (what the
person chats with and ships) and transformers on an HF folder (+ PEFT adapter)."""

from __future__ import annotations

from typing import Any, Protocol

from backends.chat_decode import ChatDecoder, Decoded
from backends.chat_template import ChatTemplateError
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

    def close(self) -> None:
        self.model = None


def open_engine(config: EvalConfig) -> Engine:
    return LlamaEngine(config) if config.engine == LLAMA_CPP else TransformersEngine(config)
