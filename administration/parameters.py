"""Server parameters (the seed's optional PAS parameters), read with a short cache.

``PARAMETERS`` is the one table of every known parameter: its default, its rule (a
sentence an administrator reads, and the check that enforces it) and what it does. The
administration pages and ``import_directory`` refuse a value breaking the rule
(``parameter_problem``); readers take the stored value, else the default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .models import ServerParameter


def _whole_number(minimum: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        text = value.strip()
        return text.lstrip("-").isdigit() and int(text) >= minimum

    return check


def _boolean(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "false", "0", "no")


@dataclass(frozen=True)
class Parameter:
    name: str
    default: str
    rule: str
    explanation: str
    check: Callable[[str], bool]


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("PAS_DepthThreshold", "8", "a whole number, at least 1",
              "How many levels of subprocesses a process may spawn before the engine reports excessive "
              "recursion.", _whole_number(1)),
    Parameter("PAS_HandlerResponseTimeout", "30", "a whole number of seconds, 0 or more (0: unlimited)",
              "How long a Run Handler action waits before it reports an error; 0 waits without limit.",
              _whole_number(0)),
    Parameter("PAS Maximum Monitored Flows", "5000", "a whole number, at least 100",
              "The most instances the Process Monitor shows at once.", _whole_number(100)),
    Parameter("PAS_LoadBalanceThreshold", "5000", "a whole number, at least 1000",
              "How many running instances a node owns before new instances go to a less loaded node.",
              _whole_number(1000)),
    Parameter("PAS_blockLaunchDuringRestore", "false", "true, false, 1, 0, yes or no",
              "When true, users cannot start processes while a node restores the instances it took over.",
              _boolean),
    Parameter("PAS_MaxLoopIterations", "10000", "a whole number, at least 1",
              "How many times a loop without its own max_iterations runs before it stops with an error.",
              _whole_number(1)),
    Parameter("PAS_MaxActionsPerStep", "100000", "a whole number, at least 100",
              "How many actions one step of an instance (from one event to its next wait) may run before it "
              "stops with an error.", _whole_number(100)),
    Parameter("PAS_MaxHistoryPerStep", "2000", "a whole number, at least 100",
              "How many history entries one step of an instance may write before it stops with an error.",
              _whole_number(100)),
    Parameter("PAS_MaxSubprocessesPerStep", "100", "a whole number, at least 1",
              "How many subprocesses one step of an instance may launch before it stops with an error.",
              _whole_number(1)),
    Parameter("PAS_MaxInstancesPerLaunch", "50", "a whole number, at least 2",
              "How many instances one launch may grow into, counting the launched instance and every "
              "subprocess under it; a launch past it stops the launching instance with an error.",
              _whole_number(2)),
    Parameter("Presence_OfflineGraceSeconds", "60", "a whole number of seconds, 0 or more",
              "How long after a user's last window closes before their presence turns to Offline (a reload "
              "or a short network drop does not count).", _whole_number(0)),
    # The ACD (workitems.routing).
    Parameter("ACD_MaxItemsPerAgent", "1", "a whole number, at least 1",
              "How many group-routed work items the ACD lets one agent hold at once.", _whole_number(1)),
    Parameter("ACD_OfferTimeoutSeconds", "60", "a whole number of seconds, 0 or more (0: no limit)",
              "How long an offered work item waits to be picked up before it goes to the next agent.",
              _whole_number(0)),
)}
DEFAULTS = {name: parameter.default for name, parameter in PARAMETERS.items()}
CACHE_SECONDS = 2.0
_cache: dict[str, str] = {}
_loaded_at = 0.0


def parameter_problem(name: str, value: str) -> str | None:
    """Why ``value`` may not be stored for ``name`` (None: it may). Unknown names take any text."""
    parameter = PARAMETERS.get(name)
    if parameter is None or parameter.check(value):
        return None
    return f"{name} must be {parameter.rule} (default {parameter.default})."


def server_parameter(name: str) -> str:
    global _cache, _loaded_at
    if time.monotonic() - _loaded_at > CACHE_SECONDS:
        _cache = dict(ServerParameter.objects.values_list("name", "value"))
        _loaded_at = time.monotonic()
    return _cache.get(name, DEFAULTS.get(name, ""))


def integer_parameter(name: str) -> int:
    try:
        return int(server_parameter(name))
    except ValueError:
        return int(DEFAULTS[name])


def boolean_parameter(name: str) -> bool:
    return server_parameter(name).strip().lower() in ("true", "1", "yes")


def forget_parameters() -> None:
    global _loaded_at
    _loaded_at = 0.0
