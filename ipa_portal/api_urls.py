"""The HTTP API under /api/. Every path answers with and without its trailing slash."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from administration.api import views as admin_views
from ipa_portal.errors import not_found
from monitor.api import views as monitor_views
from processes.api import reports as report_views
from processes.api import views as process_views
from processes.services import instances as instance_services
from workitems import services as item_services
from workitems.api import views as item_views


def route(pattern: str, view, name: str):
    """``pattern`` without its slash; the route accepts it with or without one (no POST redirects)."""
    return re_path(rf"^{pattern}/?$", view, name=name)


INT = r"(?P<pk>[0-9]+)"

urlpatterns = [
    route("auth/token", admin_views.TokenView.as_view(), "api-token"),
    route("me", admin_views.MeView.as_view(), "api-me"),
    route("me/presence", admin_views.PresenceView.as_view(), "api-presence"),
    route("schema/process.json", process_views.ProcessSchemaView.as_view(), "api-process-schema"),
    route("schema", SpectacularAPIView.as_view(), "api-schema"),
    route("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), "api-docs"),
    route("redoc", SpectacularRedocView.as_view(url_name="api-schema"), "api-redoc"),
    route("definitions", process_views.DefinitionListView.as_view(), "api-definitions"),
    route(f"definitions/{INT}", process_views.DefinitionDetailView.as_view(), "api-definition"),
    route(f"definitions/{INT}/publish", process_views.DefinitionPublishView.as_view(), "api-definition-publish"),
    route("processes", process_views.ProcessListView.as_view(), "api-processes"),
    route(r"processes/(?P<name>[^/]+)/launch", process_views.LaunchView.as_view(), "api-launch"),
    route("instances", process_views.InstanceListView.as_view(), "api-instances"),
    route("instances/bulk", monitor_views.BulkView.as_view(), "api-instances-bulk"),
    route(f"jobs/{INT}", monitor_views.JobView.as_view(), "api-job"),
    route(f"instances/{INT}", process_views.InstanceDetailView.as_view(), "api-instance"),
    *[
        route(f"instances/{INT}/{action}", process_views.InstanceActionView.as_view(action_name=action),
              f"api-instance-{action}")
        for action in instance_services.REPAIRS
    ],
    route(f"instances/{INT}/move", monitor_views.MoveView.as_view(), "api-instance-move"),
    route("reports/variables", report_views.VariableReportView.as_view(), "api-variable-report"),
    route(f"instances/{INT}/interactions", process_views.RelatedInteractionView.as_view(), "api-interactions"),
    route("queues", monitor_views.QueueListView.as_view(), "api-queues"),
    route("workitems", item_views.WorkItemListView.as_view(), "api-workitems"),
    route(f"workitems/{INT}", item_views.WorkItemDetailView.as_view(), "api-workitem"),
    *[
        route(f"workitems/{INT}/{action}", item_views.WorkItemSimpleActionView.as_view(action_name=action),
              f"api-workitem-{action}")
        for action in item_services.SIMPLE_ACTIONS
    ],
    route(f"workitems/{INT}/complete", item_views.WorkItemCompleteView.as_view(), "api-workitem-complete"),
    route(f"workitems/{INT}/save", item_views.WorkItemSaveView.as_view(), "api-workitem-save"),
    route(f"workitems/{INT}/transfer", item_views.WorkItemTransferView.as_view(), "api-workitem-transfer"),
]

# Last: any other path under /api/ (an unknown endpoint, an id that is not a number) is a 404
# problem document, never Django's HTML page.
urlpatterns.append(re_path(r"^", not_found, name="api-not-found"))
