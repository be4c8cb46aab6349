"""Server parameters (the seed's optional PAS parameters), read with a short cache."""

import time

from .models import ServerParameter

DEFAULTS = {
    "PAS_DepthThreshold": "8",
    "PAS_HandlerResponseTimeout": "30",
    "PAS Maximum Monitored Flows": "5000",
    "PAS_LoadBalanceThreshold": "5000",
    "PAS_blockLaunchDuringRestore": "false",
    "PAS_MaxLoopIterations": "10000",  # a loop with no max_iterations of its own stops there, in error
    # The ACD (workitems.routing): group-routed items an agent may hold at once, and how long
    # an offer waits to be picked up before it goes to the next agent (0: no limit).
    "ACD_MaxItemsPerAgent": "1",
    "ACD_OfferTimeoutSeconds": "60",
}
# Whole-number parameters with a floor: a lower value is refused where parameters are set (the
# directory import, the admin), with the rule in the message.
MINIMUMS = {
    # The seed's threshold: instances a node owns before new ones go to the others. Below a
    # thousand, balancing would shuffle work between nodes for no gain (docs/operations.md).
    "PAS_LoadBalanceThreshold": 1000,
}
_CACHE_SECONDS = 2.0
_cache: dict[str, str] = {}
_loaded_at = 0.0


def server_parameter(name: str) -> str:
    global _cache, _loaded_at
    if time.monotonic() - _loaded_at > _CACHE_SECONDS:
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


def parameter_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be set for ``name`` (a sentence with the rule), or None when it can."""
    if name not in MINIMUMS:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < MINIMUMS[name]:
        return (f"{name} must be a whole number of at least {MINIMUMS[name]} "
                f"(default {DEFAULTS[name]}); {value!r} is refused.")
    return None


def forget_parameters() -> None:
    global _loaded_at
    _loaded_at = 0.0
