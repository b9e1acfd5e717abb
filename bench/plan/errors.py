"""The one exception a plan raises, and how validators name the exact field that is wrong."""

from __future__ import annotations

from collections.abc import Iterable

Loc = tuple[str | int, ...]
QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value from the file as a message quotes it: repr (control characters, ESC and bidi
    overrides escaped, so the file cannot drive the user's terminal), cut to `limit`."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


class PlanError(Exception):
    """Every problem of a plan; str() is `file:line: field: message`, one per line."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(dict.fromkeys(problems))  # in order, each once
        super().__init__("\n".join(self.problems))


class FieldProblems(ValueError):
    """Raised by a model validator to report problems at sub-fields of the model.

    pydantic puts a model validator's error at the model's own location; the formatter looks
    for this exception in the error's context and appends each sub-path, so the message lands
    on the line of the field that is wrong and several problems of one model are all reported.
    """

    def __init__(self, items: list[tuple[Loc, str]]) -> None:
        self.items = items
        super().__init__("; ".join(message for _, message in items))


def check(items: list[tuple[Loc, str]]) -> None:
    """Raise the collected problems, if any (for use at the end of a model validator)."""
    if items:
        raise FieldProblems(items)
