"""Graders: score a response in [0, 1] with a short reason. Plain Python, no Qt, no ML imports,
so training backends (GRPO rewards) can import them as well as the UI and the CLI."""

from studio.evaluation.graders.base import AllOf, AnyOf, Grade, Grader, WeightedMean
from studio.evaluation.graders.spec import SPEC_HELP, parse_spec

__all__ = ["SPEC_HELP", "AllOf", "AnyOf", "Grade", "Grader", "WeightedMean", "parse_spec"]
