"""Every environment variable the appliance reads, with its default.

README's "Environment variables" table is written from ENVIRONMENT below; keep them in step
(tests/config/test_env.py checks that every variable here is documented there).
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT: dict[str, str] = {
    "DATABASE_URL": "unset: start the embedded PostgreSQL+pgvector server with its data in var/pg",
    "REDIS_URL": "unset: the run/test scripts start a private redis-server if one is installed, "
    "else Celery uses the filesystem broker in var/broker",
    "CELERY_BROKER_URL": "REDIS_URL when set (takes precedence over REDIS_URL)",
    "ENCLAVE_VAR_DIR": "var/ in the checkout: embedded database, broker files, key file, stored files",
    "ENCLAVE_FILE_STORE": "$ENCLAVE_VAR_DIR/files: encrypted originals, one folder per tenant",
    "ENCLAVE_ORIGINALS_STORE": "database: encrypted originals in the tenant's schema (every host reads them); "
    "s3: in the S3-compatible bucket ENCLAVE_S3_BUCKET; files: in ENCLAVE_FILE_STORE on this host",
    "ENCLAVE_S3_BUCKET": "unset: the bucket of encrypted originals (needed with ENCLAVE_ORIGINALS_STORE=s3; "
    "credentials from boto3's usual AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile or role)",
    "ENCLAVE_S3_ENDPOINT_URL": "unset: AWS; the URL of another S3-compatible server (MinIO, Ceph...)",
    "ENCLAVE_S3_REGION": "unset: boto3's default region",
    "ENCLAVE_S3_PREFIX": "enclave/: key prefix; a tenant's originals are under <prefix><schema>/",
    "ENCLAVE_SAFETY_ARTIFACT_DIR": "$ENCLAVE_VAR_DIR/safety: where `manage.py safety_train` writes the safety "
    "classifier's category head and every process reads it (build it once, e.g. in the image, and share it)",
    "ENCLAVE_TENANT_SECRETS": "database: tenant secrets wrapped by the KEK in the database (every host has them); "
    "file: next to the key file on this host",
    "ENCLAVE_UPLOAD_MAX_BYTES": "52428800 (50 MiB): largest file accepted by an upload",
    "ENCLAVE_HTTPS": "off: on when served over HTTPS (secure cookies, HSTS for a year, X-Forwarded-Proto trusted)",
    "ENCLAVE_REQUEST_MAX_BYTES": "1048576 (1 MiB): largest request body on any route, refused (413) before it is read",
    "ENCLAVE_UPLOAD_REQUEST_MAX_BYTES": "4 files at the upload limit + 1 MiB: largest request body of an upload "
    "route, allowed only once the request's API key or session is checked; refused (413) before it is read",
    "ENCLAVE_REJECTED_KEY_AUDIT_SECONDS": "300: rejected API keys from one address, for one reason, within this "
    "window are one audit entry with a count",
    "ENCLAVE_TENANT_QUOTA_BYTES": "5368709120 (5 GiB): stored originals per tenant, unless the tenant sets its own",
    "ENCLAVE_INGESTION_QUEUE": "ingestion: the Celery queue of ingestion tasks",
    "ENCLAVE_ALIGNMENT_QUEUE": "alignment: the Celery queue of alignment runs (one worker process of its own)",
    "ENCLAVE_ALIGNMENT_TIME_LIMIT": "21600: seconds an alignment run may take in the worker before it is stopped",
    "ENCLAVE_INGESTION_STALE_SECONDS": "300: a document whose worker has not reported for this long is re-queued",
    "ENCLAVE_EMBEDDING_MODEL": "sentence-transformers/all-MiniLM-L6-v2: the model new passages are embedded with",
    "ENCLAVE_KEK": "unset: the key-encryption key is read from ENCLAVE_KEK_FILE (base64, 32 bytes)",
    "ENCLAVE_KEK_PREVIOUS": "unset: comma-separated retired KEKs still accepted for unwrapping",
    "ENCLAVE_KEK_FILE": "$ENCLAVE_VAR_DIR/secrets/kek.json (created by `manage.py keys_init`, 0600)",
    "ENCLAVE_BASE_DOMAIN": "localhost: tenant pages are served at <schema, _ as ->.<base domain>",
    "ENCLAVE_PUBLIC_HOSTS": "localhost,127.0.0.1: hosts that serve the operator console",
    "ENCLAVE_EXTRA_HOSTS": "unset: further host names to accept (tenants' custom domains), comma-separated",
    "ENCLAVE_HOST": "127.0.0.1: address the web server binds to",
    "ENCLAVE_PORT": "8000: port of the web server",
    "ENCLAVE_OIDC_ENDPOINT_HOSTS": "unset: further https hosts (comma-separated) an identity provider's discovery "
    "may name for its endpoints; by default they must be on the issuer's origin "
    "(Google's: oauth2.googleapis.com,www.googleapis.com)",
    "ENCLAVE_OIDC_PRIVATE_NETWORKS": "unset: private networks (CIDR, comma-separated) where an on-premises "
    "identity provider may be reached; by default only public addresses (link-local and metadata: never)",
    "ENCLAVE_OIDC_ALLOW_LOOPBACK": "off: on lets an identity provider be on this machine's loopback, over plain "
    "http (tests and development only)",
    "ENCLAVE_OIDC_SESSION_SECONDS": "3600: a company sign-in's session ends this long after it began, whatever is "
    "done meanwhile; signing in again asks the provider, which settles role and groups anew",
    "ENCLAVE_OIDC_KEY_MAX_DAYS": "30: an API key of a person who signs in through the identity provider expires "
    "no later than this many days after it is made",
    "ENCLAVE_LOG_FORMAT": "json (or text)",
    "ENCLAVE_LOG_LEVEL": "INFO",
    "ENCLAVE_OTEL_TRACING": "off: on sends OpenTelemetry spans (requests, Celery tasks, model calls) over OTLP/HTTP "
    "to OTEL_EXPORTER_OTLP_ENDPOINT (OpenTelemetry's own OTEL_* variables apply)",
    "DJANGO_SECRET_KEY": "unset: generated once into $ENCLAVE_VAR_DIR/secrets/django-secret; "
    "required with ENCLAVE_HTTPS",
    "DJANGO_DEBUG": "0",
    "LLM_BASE_URL": "unset: the embedded llama.cpp server at http://127.0.0.1:$ENCLAVE_LLM_PORT/v1",
    "ENCLAVE_VARIANT_BASE_URLS": "unset: other model servers (comma-separated URLs) an experiment's variant may name "
    "as its base_url; LLM_BASE_URL is always allowed, any other URL refused",
    "LLM_MODEL": "default: the model name sent to the LLM server (llama.cpp serves its one model under any name)",
    "LLM_API_KEY": "unset: bearer key sent to the LLM server (vLLM's --api-key)",
    "LLM_CONTEXT_TOKENS": "8192: the served model's context window; prompts are fitted to it before sending",
    "LLM_READ_TIMEOUT": "60: seconds to wait for the next bytes from the LLM server (first token included)",
    "LLM_RETRIES": "2: retries of a request that failed before its first event (never after)",
    "ENCLAVE_LLM_PARTITION_LINE": "1: a line naming the tenant's prompt partition leads every prompt, so the "
    "server reuses a prompt prefix only within one tenant (llama.cpp has no cache_salt; 0 on vLLM, which does)",
    "ENCLAVE_LLM_REQUESTS_PER_MINUTE": "120: model requests per tenant per minute, unless the tenant sets its own",
    "ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE": "30: model requests one user's questions may cause per minute",
    "ENCLAVE_LLM_CONCURRENT_PER_TENANT": "2 x ENCLAVE_EMBEDDED_PARALLEL (8): model calls one tenant may have in flight "
    "(the engine's slots and as many waiting); one more is refused at once, 429 concurrency_limited with Retry-After",
    "ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT": "5: failed sign-ins of one account from one address (an IPv6 /64) "
    "before each further try from there waits, 1 s doubling (429 with Retry-After); other addresses are not slowed",
    "ENCLAVE_LOGIN_FAILURES_PER_ADDRESS": "20: failed sign-ins from one address, any accounts, within "
    "ENCLAVE_LOGIN_LOCKOUT_SECONDS before each further try from there waits the same way",
    "ENCLAVE_LOGIN_LOCKOUT_SECONDS": "900: the longest wait between sign-in tries, and how long an address's failures "
    "count (an account's from one address: a day, or until it signs in from there)",
    "ENCLAVE_TRUSTED_PROXIES": "unset: addresses or networks (comma-separated) of the reverse proxies in front of the "
    "web server; from them the client is the last X-Forwarded-For address that is not a proxy; from anyone else "
    "X-Forwarded-For is ignored",
    "ENCLAVE_LLM_TOKENS_PER_DAY": "2000000: model tokens (in + out) per tenant per UTC day, "
    "unless the tenant sets its own",
    "ENCLAVE_CHAT_PASSAGES": "4: passages an answer may use (fewer when they do not fit the context)",
    "ENCLAVE_CHAT_MAX_TOKENS": "256: longest answer, in tokens",
    "ENCLAVE_QUOTE_SCORE": "0.25: best-evidence score (0-1) from which a grounded answer quotes the documents "
    "without asking the model; 1 always asks it (for a model larger than the bundled one)",
    "ENCLAVE_EVIDENCE_SCORER": "features: how evidence sentences are scored (features: MiniLM cosine, word overlap, "
    "rank; reader: the cross-encoder trained here, retrieval/reader, not yet better on covid-qa-dev)",
    "ENCLAVE_SEARCH_POOL": "50: candidates each of dense and full-text search hands to fusion and reranking",
    "ENCLAVE_SEARCH_MAX_SCAN": "20000: most index tuples an iterative HNSW scan visits "
    "to fill a selective ACL's results",
    "ENCLAVE_RERANKER": "term-coverage: the reranker search uses (term-coverage, cross-encoder or none; see "
    "docs/architecture.md, Retrieval)",
    "ENCLAVE_RERANKER_MODEL": "unset: a local sentence-transformers cross-encoder folder, "
    "for ENCLAVE_RERANKER=cross-encoder",
    "ENCLAVE_CONDENSE_WITH_LLM": "1: condense follow-up questions with the LLM "
    "(a keyword fallback is used when it fails)",
    "ENCLAVE_LLM_PORT": "8081: port of the embedded llama.cpp server",
    "ENCLAVE_LLM_THREADS": "number of cores: threads of the embedded llama.cpp server",
    "ENCLAVE_EMBEDDED_PARALLEL": "4: slots of the embedded server, decoded together (continuous batching)",
    "ENCLAVE_EMBEDDED_CONTEXT": "8192: tokens of context per slot of the embedded server",
    "ENCLAVE_EMBEDDED_DRAFT": "off: ngram drafts the embedded server's next tokens from the prompt (prompt lookup)",
    "ENCLAVE_EMBEDDED_LORA": "unset: LoRA adapters (GGUF) the embedded server loads, `name=path` comma-separated; "
    "each applies only to a request that names it",
    "ENCLAVE_LLM_ADAPTERS": "unset: adapter names the model server serves as models (vLLM's --lora-modules), "
    "comma-separated; a variant may name one",
    "ENCLAVE_EMBEDDED_GGUF": "the bundled SmolLM2 file: another GGUF for the embedded server (to compare models)",
    "ENCLAVE_WORKER_CONCURRENCY": "2: Celery worker processes started by the run command",
    "ENCLAVE_SAFETY_CLASSIFIER": "embedded: the moderation classifier (embedded: rules + the fine-tuned harm model "
    "and a category head over its layers; rules; guard: a Llama Guard model over the OpenAI-compatible API)",
    "ENCLAVE_MODERATION_READS": "whole: what the harm model reads of a request (whole: every window; end: its last "
    "128 word pieces, faster, blind to a request that a longer document follows)",
    "ENCLAVE_INJECTION_MODEL": "0: the instruction rules alone screen documents for injected instructions; 1: the "
    "fine-tuned injection detector too (off by default: it flags many clean e-mails of sources it never saw)",
    "ENCLAVE_GUARD_BASE_URL": "LLM_BASE_URL: the server of the guard model, for ENCLAVE_SAFETY_CLASSIFIER=guard",
    "ENCLAVE_GUARD_MODEL": "enclave-guard: the guard model's served name",
    "ENCLAVE_GUARD_PROMPT": "server: the guard's chat template writes the Llama Guard prompt; client: the client "
    "writes it (a general instruction model as the guard)",
    "ENCLAVE_RETENTION_INTERVAL_SECONDS": "3600: seconds between runs that delete conversations and traces "
    "past the tenants' retention periods",
    "HF_HUB_OFFLINE": "1: models come from installed packages, never from a hub",
    "ENCLAVE_TEST_VAR_DIR": "var/test: the test command's own database, key file and broker files",
    "PYTHON": "python3.11, else python3: the interpreter scripts/bootstrap builds .venv with",
}


def get(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def get_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def get_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def var_dir() -> Path:
    return Path(get("ENCLAVE_VAR_DIR", str(BASE_DIR / "var"))).resolve()


def database_from_url(url: str) -> dict:
    """Django DATABASES entry from a postgresql:// URL (host may be a socket folder in ?host=)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or parts.hostname or ""
    return {
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": query,
    }
