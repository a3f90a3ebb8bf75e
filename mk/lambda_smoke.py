"""The built function and layer, imported and invoked by python3.13: the Lambda runtime's version.

`make lambda-smoke` runs this with only the artifacts and the runtime's SDK (boto3, which Lambda
provides) on the path: no project source, no dev venv. The e2e tier runs the same artifacts
under ministack's own Python, so this is what proves they load and work on 3.13. No network:
the events are answered before any AWS or Wistia call.
"""

import json
import os
import sys
from pathlib import Path

BUILD = Path(__file__).resolve().parents[1] / ".aws-sam" / "build"

os.environ.update(
    {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",  # Lambda sets both; botocore reads this one
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke",
        "WISTIA_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-AbCdEf",
        "ALLOWED_BUCKETS": "media-uploads-example",
        "FAILURE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/smoke",
        "POWERTOOLS_SERVICE_NAME": "s3-wistia-bridge",
        "POWERTOOLS_METRICS_NAMESPACE": "S3WistiaBridge",
    }
)


class Context:
    function_name = "smoke"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:smoke"
    aws_request_id = "smoke"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"lambda-smoke failed: {what}")


def main() -> int:
    check(sys.version_info[:2] == (3, 13), f"run with python3.13, not {sys.version}")
    # Imported only now: the environment above is the function's configuration.
    import app  # noqa: PLC0415 - from .aws-sam/build/IngestFunction
    import s3_wistia_bridge  # noqa: PLC0415 - from .aws-sam/build/BridgeLayer/python

    check(
        Path(s3_wistia_bridge.__file__).is_relative_to(BUILD),
        f"not the artifact: {s3_wistia_bridge.__file__}",
    )
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "media-uploads-example"}
    notes = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "media-uploads-example"},
                    "object": {"key": "videos/n%2B1.txt", "size": 5},
                },
            }
        ]
    }
    skipped = app.lambda_handler(test_event, Context())["objects"][0]
    rejected = app.lambda_handler(notes, Context())["objects"][0]
    outcomes = [skipped["outcome"], rejected["reason"], rejected["uri"]]
    expected = ["skipped", "extension_not_allowed", "s3://media-uploads-example/videos/n+1.txt"]
    check(outcomes == expected, f"{outcomes} != {expected}")
    print("lambda-smoke: python", sys.version.split()[0], json.dumps(outcomes), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
