"""Deployment checks of our own settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def secret_key_shared_by_the_nodes(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A generated key is this machine's own: the nodes of a cluster must share one."""
    if getattr(settings, "SECRET_KEY_GENERATED", False) and not getattr(settings, "EMBEDDED", True):
        return [checks.Warning(
            "SECRET_KEY is not set: this node made its own key (db/secret-key), and other nodes will not "
            "accept its sessions.", hint="Set SECRET_KEY or SECRET_KEY_FILE, the same on every node.",
            id="ipa.W001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def private_addresses_allowed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if getattr(settings, "IPA_HTTP_ALLOW_PRIVATE_ADDRESSES", False):
        return [checks.Warning(
            "IPA_HTTP_ALLOW_PRIVATE_ADDRESSES is on: processes may call loopback and private addresses.",
            hint="Leave it off unless the services processes call live on the private network.", id="ipa.W002")]
    return []
