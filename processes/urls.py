"""Pages for launching processes and searching instances (the HTTP API lives under /api/)."""

from django.urls import path

from processes import report_views, views
from processes.services import instances

app_name = "processes"

urlpatterns = [
    path("processes/", views.process_list, name="list"),
    path("processes/<str:name>/launch", views.launch, name="launch"),
    path("instances/", views.instance_search, name="search"),
    path("reports/variables/", report_views.variable_report, name="variable_report"),
    path("instances/<int:pk>/", views.instance_detail, name="instance"),
    path("instances/<int:pk>/interactions", views.relate_interaction, name="interactions"),
    *[
        path(f"instances/<int:pk>/{action}", views.manage_instance, {"action": action}, name=action)
        for action in instances.REPAIRS
    ],
]
