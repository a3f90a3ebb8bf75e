"""One cold start, run as `python bench/cold_child.py handler|baseline` in a fresh process.

Prints one JSON line: milliseconds from the first import to the end of the first handled event
(handler), or to the end of `import boto3, requests` (baseline). Nothing from this repository is
imported before the clock starts; the handler's sys.path is set by the parent (PYTHONPATH).
"""

import time

START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def _baseline() -> dict[str, object]:
    # Imported here, after the clock started: their import time is the baseline measured.
    import boto3  # noqa: F401, PLC0415
    import requests  # noqa: F401, PLC0415

    return {"ms": (time.perf_counter() - START) * 1000}


def _handler() -> dict[str, object]:
    # Imported here, after the clock started: the function's module (from the artifact or the
    # source on PYTHONPATH) is the cold start measured.
    import app  # noqa: PLC0415

    imported = time.perf_counter()
    event = json.loads(sys.argv[2])

    class Context:
        function_name = "s3-wistia-bridge-ingest"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:s3-wistia-bridge-ingest"
        aws_request_id = "cold-start"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    answer = app.lambda_handler(event, Context())
    done = time.perf_counter()
    outcome = answer["objects"][0]["outcome"]
    import s3_wistia_bridge  # noqa: PLC0415 - loaded by `app` already; asked only where from

    return {
        "ms": (done - START) * 1000,
        "import_ms": (imported - START) * 1000,
        "outcome": outcome,
        "package": s3_wistia_bridge.__file__,
    }


if __name__ == "__main__":
    result = _handler() if sys.argv[1] == "handler" else _baseline()
    sys.stdout.flush()
    print("BENCH " + json.dumps(result), flush=True)
