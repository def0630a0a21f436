"""The bottom layer: what every app shares and that imports no app (errors, pages, logging,
settings from the environment, tracing, body limits, metric series, locks, PII redaction)."""
