"""The administration pages, under /administration/."""

from django.urls import path

from administration import audit_views, authority_views, data_source_views, definition_views, rights_views, views

app_name = "administration"

urlpatterns = [
    path("", views.index, name="index"),
    path("users/", views.user_list, name="users"),
    path("users/new", views.user_new, name="user_new"),
    path("users/<str:username>/", views.user_edit, name="user"),
    path("licenses/", views.licenses, name="licenses"),
    path("rights/", rights_views.access_rights, name="access_rights"),
    path("workgroups/", views.named_list, {"kind": "workgroup"}, name="workgroups"),
    path("workgroups/new", views.named_new, {"kind": "workgroup"}, name="workgroup_new"),
    path("workgroups/<str:name>/", views.named_one, {"kind": "workgroup"}, name="workgroup"),
    path("roles/", views.named_list, {"kind": "role"}, name="roles"),
    path("roles/new", views.named_new, {"kind": "role"}, name="role_new"),
    path("roles/<str:name>/", views.named_one, {"kind": "role"}, name="role"),
    path("security/", views.named_list, {"kind": "security specification"}, name="specifications"),
    path("security/new", views.named_new, {"kind": "security specification"}, name="specification_new"),
    path("security/<str:name>/", views.named_one, {"kind": "security specification"}, name="specification"),
    path("skills/", views.skills, name="skills"),
    path("parameters/", views.parameters, name="parameters"),
    path("audit/", audit_views.audit, name="audit"),
    path("data-sources/", data_source_views.data_sources, name="data_sources"),
    path("certification-authorities/", authority_views.certificate_authorities, name="certificate_authorities"),
    path("processes/", definition_views.definition_list, name="definitions"),
    path("processes/import", definition_views.definition_import, name="definition_import"),
    *[path(f"processes/<int:pk>/{action}", definition_views.definition_change, {"action": action},
           name=f"definition_{action}") for action in ("publish", "retire")],
]
