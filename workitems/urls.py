"""Pages of the work item client (the HTTP API lives under /api/, see ipa_portal/api_urls.py)."""

from django.urls import path

from workitems import services, views

app_name = "workitems"

urlpatterns = [
    path("", views.home, name="home"),
    path("workitems/", views.work_item_list, name="list"),
    path("workitems/queues/", views.queues_page, name="queues"),
    path("workitems/away/", views.out_of_office, name="away"),
    path("workitems/away/<int:pk>/end", views.end_absence, name="end_absence"),
    path("workitems/<int:pk>/", views.work_item, name="item"),
    *[
        path(f"workitems/<int:pk>/{action}", views.work_item_action, {"action": action}, name=action)
        for action in services.SIMPLE_ACTIONS
    ],
    path("workitems/<int:pk>/transfer", views.work_item_transfer, name="transfer"),
]
