"""A GGUF's chat template, rendered with limits: it is data from a file, so it may be broken,
hostile (a sandbox escape attempt), endless, or huge.

llama-cpp-python renders templates in Jinja's immutable sandbox, which holds, but its
``SecurityError``, a syntax error, a loop that never ends, or a string built to gigabytes all
reached the chat worker as a crash or a hang. Here every template failure is one
:class:`ChatTemplateError` whose message says what is wrong; rendering stops after
``RENDER_TIMEOUT_S`` (on the main thread, where a timer signal can interrupt it) or once the
output passes ``MAX_PROMPT_CHARS``; and a GGUF without a template gets a plain one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from studio.errors import StudioError

RENDER_TIMEOUT_S = 2.0
MAX_PROMPT_CHARS = 4 * 1024 * 1024  # far beyond any context window, far below trouble
# For a GGUF with no template: readable turns, and the model answers after "assistant:".
PLAIN_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)
SAMPLE = [{"role": "system", "content": "You are helpful."},
          {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"},
          {"role": "user", "content": "How are you?"}]


class ChatTemplateError(StudioError):
    """A chat template that cannot be used: it does not compile, fails, loops or explodes."""


class _RenderTimeout(Exception):
    pass


def make_formatter(template: str | None, eos: str, bos: str, stop_ids: list[int] | None
                   ) -> tuple[Any, str | None]:
    """(formatter, note): the note says when the plain template replaced a missing one."""
    import jinja2
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    note = None
    if not template or not template.strip():
        template, note = PLAIN_TEMPLATE, ("this GGUF has no chat template; using a plain"
                                          " 'role: text' template instead")
    try:
        formatter: Any = Jinja2ChatFormatter(template=template, eos_token=eos,
                                             bos_token=bos, stop_token_ids=stop_ids)
        formatter._environment = _Bounded(_limited_environment(formatter, template))
    except jinja2.TemplateError as error:
        raise ChatTemplateError(f"the chat template does not compile: {error}") from error
    render(formatter, SAMPLE)  # a template that fails, loops or explodes is refused at load
    return formatter, note


def render(formatter: Any, messages: Any) -> Any:
    """The formatter's result for ``messages``, or ChatTemplateError."""
    import jinja2

    try:
        with _time_limit(RENDER_TIMEOUT_S):
            return formatter(messages=messages)
    except _RenderTimeout as error:
        raise ChatTemplateError(f"the chat template ran for over {RENDER_TIMEOUT_S:.0f} s"
                                " (a loop that never ends?)") from error
    except jinja2.exceptions.SecurityError as error:
        raise ChatTemplateError(f"the chat template tried something the sandbox forbids"
                                f" ({error})") from error
    except (jinja2.TemplateError, ValueError, TypeError, KeyError, AttributeError,
            IndexError, ZeroDivisionError, OverflowError, RecursionError,
            MemoryError) as error:
        raise ChatTemplateError(f"the chat template failed: {type(error).__name__}:"
                                f" {str(error)[:200]}") from error


def _limited_environment(formatter: Any, template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class LimitedEnvironment(ImmutableSandboxedEnvironment):
        # Checked before the operation runs: "x" * 10**10 never allocates.
        intercepted_binops = frozenset({"*", "+", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*" and isinstance(left, (str, list)) and isinstance(right, int) \
                    and len(left) * right > MAX_PROMPT_CHARS:
                raise ChatTemplateError("the chat template builds a string of"
                                        f" {len(left) * right / 1e6:.0f} MB")
            if operator == "**" and isinstance(right, int) and right > 64:
                raise ChatTemplateError("the chat template computes a huge power")
            return super().call_binop(context, operator, left, right)

    source = formatter._environment.environment
    environment = LimitedEnvironment(loader=source.loader, trim_blocks=True,
                                     lstrip_blocks=True,
                                     extensions=[type(ext) for ext in source.extensions.values()])
    environment.filters["tojson"] = formatter.tojson
    return environment.from_string(template)


class _Bounded:
    """A compiled template whose ``render`` stops once the output passes the size limit."""

    def __init__(self, template: Any) -> None:
        self.template = template

    def render(self, *args: Any, **kwargs: Any) -> str:
        pieces, size = [], 0
        for piece in self.template.generate(*args, **kwargs):
            size += len(piece)
            if size > MAX_PROMPT_CHARS:
                raise ChatTemplateError(f"the chat template produced over"
                                        f" {MAX_PROMPT_CHARS // 2**20} MB of prompt")
            pieces.append(piece)
        return "".join(pieces)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt pure-Python rendering after ``seconds``; only the main thread gets signals,
    and Windows has no interval timer (the size limits still hold there)."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _RenderTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
