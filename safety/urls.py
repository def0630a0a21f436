from django.urls import path

from safety import apis

app_name = "safety"

urlpatterns = [
    path("safety/policy/", apis.SafetyPolicyApi.as_view(), name="policy"),
    path("safety/policy/versions/", apis.SafetyPolicyVersionsApi.as_view(), name="policy-versions"),
    path("safety/taxonomy/", apis.SafetyTaxonomyApi.as_view(), name="taxonomy"),
]
