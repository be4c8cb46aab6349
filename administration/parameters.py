"""Server parameters (the seed's optional PAS parameters), read with a short cache."""

import time

from .models import ServerParameter

DEFAULTS = {
    "PAS_DepthThreshold": "8",
    "PAS_HandlerResponseTimeout": "30",
    "PAS Maximum Monitored Flows": "5000",
    "PAS_LoadBalanceThreshold": "5000",
    "PAS_blockLaunchDuringRestore": "false",
    # The ACD (workitems.routing): group-routed items an agent may hold at once, and how long
    # an offer waits to be picked up before it goes to the next agent (0: no limit).
    "ACD_MaxItemsPerAgent": "1",
    "ACD_OfferTimeoutSeconds": "60",
    # How long a user whose last client socket closed stays as they were before turning
    # Offline (workitems.sockets): a reload or a short network drop does not count.
    "Presence_OfflineGraceSeconds": "60",
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


def forget_parameters() -> None:
    global _loaded_at
    _loaded_at = 0.0
