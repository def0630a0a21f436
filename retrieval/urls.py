from django.urls import path

from retrieval import apis

app_name = "retrieval"

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="search"),
]
