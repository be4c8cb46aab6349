from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

urlpatterns = [
    path("api/", include("ipa_portal.api_urls")),
    path("admin/", admin.site.urls),
    path("administration/", include("administration.urls")),  # the administrators' pages
    path("favicon.ico", lambda request: redirect(static("portal/favicon.svg"), permanent=True)),  # old browsers
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("workitems.urls")),  # the work item client's pages
    path("", include("processes.urls")),
    path("", include("monitor.urls")),
]

handler500 = "ipa_portal.errors.server_error"  # a problem document under /api/
