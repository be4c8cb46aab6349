"""A variable's ``pattern``, matched in time linear in the text (RE2, never backtracking).

Python's ``re`` backtracks: a designer's ``(a+)+$`` took seconds on 27 characters and
grew ×4.5 with every two more, in the request that checked a launch or a form. RE2
(``google-re2``) guarantees linear time by refusing what needs backtracking
(backreferences, lookaround); such a pattern is a definition error, found at import.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is reported to the designer, not written to stderr


class PatternError(ValueError):
    """The pattern is not one RE2 accepts; the message says why."""


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise PatternError(reason) from None


def full_match(pattern: str, text: str) -> bool:
    """Whether the whole ``text`` matches ``pattern`` (PatternError for a pattern RE2 refuses)."""
    return compile_pattern(pattern).fullmatch(text) is not None
