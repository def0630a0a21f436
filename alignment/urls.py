from django.urls import path

from alignment import apis

app_name = "alignment"

urlpatterns = [
    path("alignment/runs/", apis.AlignmentRunListApi.as_view(), name="alignment-run-list"),
    path("adapters/", apis.AdapterListApi.as_view(), name="adapter-list"),
    path("adapters/<uuid:adapter_id>/", apis.AdapterDetailApi.as_view(), name="adapter-detail"),
]
