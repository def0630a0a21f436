from django.urls import path

from inference import apis

app_name = "inference"

urlpatterns = [
    path("usage/llm/", apis.LlmUsageApi.as_view(), name="llm-usage"),
]
