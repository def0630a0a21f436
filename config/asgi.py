import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from django.core.asgi import get_asgi_application  # noqa: E402

from core.tracing import tracing_start  # noqa: E402

tracing_start("enclave-web")  # before the handler loads the middleware it instruments
django_application = get_asgi_application()

from core.body_limit import BodyLimit  # noqa: E402  (after Django is set up)
from tenants.callers import caller_is_known  # noqa: E402

application = BodyLimit(django_application, caller_is_known=caller_is_known)
