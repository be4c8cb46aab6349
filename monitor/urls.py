"""The Process Monitor's pages (its socket is /ws/monitor/, routed in ipa_portal.routing)."""

from django.urls import path

from monitor import services, views

app_name = "monitor"

urlpatterns = [
    path("monitor/", views.monitor_page, name="monitor"),
    path("monitor/queues/", views.queues_page, name="queues"),
    path("monitor/queues/items/<int:pk>/move", views.move_work_item, name="move-item"),
    path("monitor/trouble/", views.trouble_page, name="trouble"),
    path("monitor/trouble/repair", views.repair_group, name="repair-group"),
    path("monitor/jobs/<int:pk>/", views.job_page, name="job"),
    path("monitor/filters", views.save_filter, name="save-filter"),
    path("monitor/filters/<int:pk>/delete", views.delete_filter, name="delete-filter"),
    path("monitor/instances/<int:pk>/", views.instance_details, name="instance"),
    path("monitor/instances/<int:pk>/move", views.move_instance, name="move"),
    *[
        path(f"monitor/instances/<int:pk>/{action}", views.repair, {"action": action}, name=action)
        for action in services.REPAIRS
    ],
]
