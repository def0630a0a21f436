from django.urls import path

from config import health
from tenants import oidc_views, views

health_patterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
]

session_patterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("audit/", views.audit_page, name="audit-page"),
    path("login/oidc/", oidc_views.oidc_start, name="oidc-start"),
    path("login/oidc/callback/", oidc_views.oidc_callback, name="oidc-callback"),
]
