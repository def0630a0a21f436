from django.urls import path

from core.body_limit import large_body
from ingestion import apis

app_name = "ingestion"

urlpatterns = [
    path("documents/", large_body(apis.DocumentListApi.as_view()), name="document-list"),
    path("documents/<uuid:document_id>/", apis.DocumentDetailApi.as_view(), name="document-detail"),
    path(
        "documents/<uuid:document_id>/versions/",
        large_body(apis.DocumentVersionListApi.as_view()),
        name="document-version-list",
    ),
    path("documents/<uuid:document_id>/reingest/", apis.DocumentReingestApi.as_view(), name="document-reingest"),
    path("ingestion/queue/", apis.IngestionQueueApi.as_view(), name="queue"),
]
