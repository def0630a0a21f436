from django.urls import path

from tenants.accounts import apis, oidc_apis

app_name = "accounts"

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/training/", apis.MyTrainingApi.as_view(), name="me-training"),
    path("users/", apis.UserListApi.as_view(), name="user-list"),
    path("users/<uuid:user_id>/", apis.UserDetailApi.as_view(), name="user-detail"),
    path("users/<uuid:user_id>/erase/", apis.UserErasureApi.as_view(), name="user-erase"),
    path("groups/", apis.GroupListApi.as_view(), name="group-list"),
    path("groups/<uuid:group_id>/", apis.GroupDetailApi.as_view(), name="group-detail"),
    path("groups/<uuid:group_id>/members/", apis.GroupMemberListApi.as_view(), name="group-member-list"),
    path(
        "groups/<uuid:group_id>/members/<uuid:user_id>/",
        apis.GroupMemberDetailApi.as_view(),
        name="group-member-detail",
    ),
    path("api-keys/", apis.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<uuid:key_id>/", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("audit-events/", apis.AuditEventListApi.as_view(), name="audit-event-list"),
    path("identity-provider/", oidc_apis.IdentityProviderApi.as_view(), name="identity-provider"),
]
