"""The benchmark suite (`make bench`, `python -m bench.run`): issue 7's six figures, side by side.

Importing the package sets the environment every process of the suite runs with, BASE_ENV: it
runs before any of its modules imports the bridge, whose Powertools Logger and Metrics read
POWERTOOLS_* when they are created, at import.
"""

import os

REGION = "us-east-1"

# Fake credentials, tracing off as in the tests, logging at INFO as deployed.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "s3-wistia-bridge",
    "POWERTOOLS_METRICS_NAMESPACE": "S3WistiaBridge",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

os.environ.update(BASE_ENV)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_name, None)
