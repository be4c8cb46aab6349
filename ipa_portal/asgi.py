"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipa_portal.settings")
django.setup(set_prefix=False)

from ipa_portal.asgi_handler import SyncMiddlewareASGIHandler  # noqa: E402
from ipa_portal.keepalive import spread_keepalive_pings  # noqa: E402

spread_keepalive_pings()

django_asgi_app = SyncMiddlewareASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from ipa_portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)

# What startup made (Django, the apps, the URL patterns, every module loaded) lives as long
# as the process: kept out of the collector's view, a full collection, which a server holding
# hundreds of sockets makes now and then, no longer stops every socket of the process while it
# scans them (docs/performance.md, round 5).
gc.freeze()
