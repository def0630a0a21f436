from django.urls import path

from evaluation import experiment_apis

app_name = "evaluation"

urlpatterns = [
    path("experiments/", experiment_apis.ExperimentListApi.as_view(), name="experiment-list"),
    path("experiments/<uuid:experiment_id>/", experiment_apis.ExperimentDetailApi.as_view(), name="experiment-detail"),
    path(
        "experiments/<uuid:experiment_id>/start/",
        experiment_apis.ExperimentActionApi.as_view(action="start"),
        name="experiment-start",
    ),
    path(
        "experiments/<uuid:experiment_id>/promote/",
        experiment_apis.ExperimentActionApi.as_view(action="promote"),
        name="experiment-promote",
    ),
    path(
        "experiments/<uuid:experiment_id>/stop/",
        experiment_apis.ExperimentActionApi.as_view(action="stop"),
        name="experiment-stop",
    ),
]
