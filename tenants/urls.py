from django.urls import path

from tenants import apis

app_name = "operator"

urlpatterns = [
    path("tenants/", apis.TenantListApi.as_view(), name="tenant-list"),
    path("tenants/<int:tenant_id>/", apis.TenantDetailApi.as_view(), name="tenant-detail"),
    path("tenants/<int:tenant_id>/suspend/", apis.TenantSuspendApi.as_view(), name="tenant-suspend"),
    path("tenants/<int:tenant_id>/resume/", apis.TenantResumeApi.as_view(), name="tenant-resume"),
    path("tenants/<int:tenant_id>/limits/", apis.TenantLimitsApi.as_view(), name="tenant-limits"),
    path("tenants/<int:tenant_id>/usage/", apis.TenantUsageRefreshApi.as_view(), name="tenant-usage"),
    path("operators/", apis.OperatorListApi.as_view(), name="operator-list"),
    path("operators/<uuid:user_id>/", apis.OperatorDetailApi.as_view(), name="operator-detail"),
]
