"""The whole pipeline on loopback: ministack (S3, Lambda, SQS, ...) + the Wistia emulator.

`LocalStack` starts ministack on a free 127.0.0.1 port and the Wistia emulator on another,
deploys the real template (built by `make build`) with `sam deploy --config-env local`, and
stops everything it started, by PID, on exit, error or Ctrl-C. Every temporary file lives
under `.tmp/` in the project and is removed on exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
import requests
from wistia_emulator import WistiaEmulator

ROOT = Path(__file__).resolve().parents[2]
MINISTACK = ROOT / ".venv-ministack" / "bin" / "ministack"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
REGION = "us-east-1"
WISTIA_ACCOUNT_ID = "111122223333"  # stands in for Wistia's AWS account in the bucket policy
TOKEN = "local-demo-token-0123456789abcdef"  # noqa: S105 - the emulator's, not a real secret
WEBHOOK_SECRET = "local-webhook-secret-0123456789"  # noqa: S105 - signs the emulator's webhooks
# aws_xray_sdk (Powertools Tracer) creates this inside the function, whatever the settings.
XRAY_MARKER = Path("/tmp/.aws-xray")  # noqa: S108 - a path the SDK hard-codes, cleaned up here


class LocalStackError(RuntimeError):
    """Something the local pipeline needs is missing or failed; the message says what to do."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStack:
    def __init__(
        self,
        name: str = "local",
        *,
        parameters: dict[str, str] | None = None,
        existing_bucket: bool = False,
        log: Any = None,
    ) -> None:
        """`parameters`: template parameters on top of the local defaults (e.g. CopyMode).

        `existing_bucket`: create the bucket first (versioned, EventBridge notifications on) and
        deploy in ExistingBucket mode, as an operator would with a bucket they already have."""
        self.stack_name = f"s3-wistia-bridge-{name}"
        self.existing_bucket = existing_bucket
        self.bucket = f"s3-wistia-bridge-{name}-{uuid.uuid4().hex[:8]}"
        self.work_dir = ROOT / ".tmp" / f"{name}-{os.getpid()}"
        self._log = log or (lambda message: None)
        self._ministack: subprocess.Popen[bytes] | None = None
        self._xray_marker_existed = XRAY_MARKER.exists()
        self.endpoint = ""
        self.emulator: WistiaEmulator | None = None
        self.outputs: dict[str, str] = {}
        self._parameters = parameters or {}
        self.secret_arn = ""
        self.overrides: dict[str, str] = {}  # the parameter values deployed

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        # ministack's own check is in start_ministack.
        for tool, target in ((SAM, "make local-venvs"), (BUILT_TEMPLATE, "make build")):
            if not tool.exists():
                raise LocalStackError(f"{tool.relative_to(ROOT)} is missing: run `{target}` first")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._start_ministack()
        self.emulator = WistiaEmulator(tokens=(TOKEN,), s3_endpoint_url=self.endpoint).start()
        self._log(f"Wistia emulator on {self.emulator.url}")
        self._deploy()

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self._ministack is not None:
            stop_ministack(self._ministack)
            self._ministack = None
        shutil.rmtree(self.work_dir, ignore_errors=True)
        if not self._xray_marker_existed:
            shutil.rmtree(XRAY_MARKER, ignore_errors=True)

    def _start_ministack(self) -> None:
        self._ministack, self.endpoint = start_ministack(self.work_dir)
        self._log(f"ministack on {self.endpoint} (pid {self._ministack.pid})")

    def _deploy(self) -> None:
        assert self.emulator is not None  # noqa: S101 - started just before
        secret_arn = self.client("secretsmanager").create_secret(
            Name=f"{self.stack_name}/wistia-token", SecretString=json.dumps({"access_token": TOKEN})
        )["ARN"]
        webhook_secret_arn = self.client("secretsmanager").create_secret(
            Name=f"{self.stack_name}/wistia-webhook", SecretString=json.dumps({"secret_key": WEBHOOK_SECRET})
        )["ARN"]
        if self.existing_bucket:
            trigger = {"TriggerMode": "ExistingBucket", "ExistingBucketName": self._create_bucket()}
        else:
            trigger = {"BucketName": self.bucket}
            if self._parameters.get("CopyMode", "s3_copy") == "s3_copy":
                # The template refuses s3_copy into a new bucket without Wistia's account (the
                # grant); the emulator reads through ministack, so any account id stands in.
                trigger["WistiaAwsAccountId"] = WISTIA_ACCOUNT_ID
        overrides = {
            **trigger,
            "WistiaSecretArn": secret_arn,
            "WistiaWebhookSecretArn": webhook_secret_arn,
            "WistiaUploadUrl": self.emulator.url,
            "WistiaApiUrl": self.emulator.url,
            "WistiaProjectId": "localdemo",
            "WistiaConnectTimeoutSeconds": "2",
            "WistiaReadTimeoutSeconds": "5",
            "FunctionTimeoutSeconds": "30",
            # The demo, chaos and bench runs expect Lambda's async retries (seconds here, not
            # the ingest queue's visibility timeouts); the buffered e2e tests ask for buffered.
            "Delivery": "direct",
        } | self._parameters
        started = time.monotonic()
        self.secret_arn = secret_arn
        self.overrides = overrides
        try:
            self.sam_deploy(self.stack_name, overrides)
        except LocalStackError as error:
            raise LocalStackError(f"{error}\n{self._failed_resources()}") from None
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "IngestEventSourceMappingId" in self.outputs:
            self._scaling_config_as_number(self.outputs["IngestEventSourceMappingId"])
        self._log(f"deployed {self.stack_name} in {time.monotonic() - started:.1f}s")

    def sam_deploy(
        self, stack_name: str, overrides: dict[str, str], *extra: str, config_env: str = "local"
    ) -> None:
        """`sam deploy --config-env <config_env>` of the built template into this ministack, with
        these parameter values (none: the environment's own) and `extra` arguments; raises
        LocalStackError with sam's output when it fails."""
        # SAM splits the overrides on spaces: a value with one (a key prefix) is quoted.
        pairs = [f'{key}="{value}"' if " " in value else f"{key}={value}" for key, value in overrides.items()]
        self._run_sam(
            "deploy",
            "--config-file",
            str(ROOT / "samconfig.toml"),  # not beside the template deployed
            "--config-env",
            config_env,
            "--stack-name",
            stack_name,
            "--no-fail-on-empty-changeset",
            "--template-file",
            str(self._ministack_template()),
            *(["--parameter-overrides", *pairs] if pairs else []),
            *extra,
        )

    @property
    def webhook_url(self) -> str:
        """The webhook function's URL as this machine reaches it: ministack serves every Function
        URL path-based, http://127.0.0.1:<port>/_aws/lambda-url/<url id>/ (the id is the first
        label of the host name its FunctionUrl output gives)."""
        url = self.outputs["WebhookUrl"]
        if url.startswith(self.endpoint):
            return url
        host = url.split("://", 1)[1].split("/", 1)[0]
        return f"{self.endpoint}/_aws/lambda-url/{host.split('.', 1)[0]}/"

    def follow_medias(
        self, *, queued_seconds: float = 0.2, processing_seconds: float = 0.5, **webhooks: Any
    ) -> None:
        """The emulator's media lifecycle on (queued -> processing -> ready over these delays) and,
        when the stack has a webhook function, its signed webhooks delivered to the deployed URL
        (`webhooks`: more of configure_webhooks' settings, e.g. duplicate_rate, fail_match goes
        to the lifecycle)."""
        assert self.emulator is not None  # noqa: S101 - started
        lifecycle = {k: webhooks.pop(k) for k in ("fail_match", "fail_times") if k in webhooks}
        self.emulator.configure_lifecycle(
            enabled=True, queued_seconds=queued_seconds, processing_seconds=processing_seconds, **lifecycle
        )
        if "WebhookUrl" in self.outputs:
            self.emulator.configure_webhooks(url=self.webhook_url, secret=WEBHOOK_SECRET, **webhooks)

    def ledger(self, key: str) -> list[dict[str, Any]]:
        """The ledger's items of `key` in this stack's bucket, oldest generation first."""
        from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415 - only for tests and the demo

        items = self.client("dynamodb").query(
            TableName=self.outputs["LedgerTableName"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{self.bucket}/{key}"}},
            ConsistentRead=True,
        )["Items"]
        decode = TypeDeserializer().deserialize
        return [{name: decode(value) for name, value in item.items()} for item in items]

    def ledger_status(self, key: str) -> str | None:
        """The status of the newest media of `key` (None: nothing in the ledger yet)."""
        items = self.ledger(key)
        return str(items[-1]["status"]) if items else None

    def _scaling_config_as_number(self, uuid_: str) -> None:
        """ministack's CloudFormation keeps MaximumConcurrency, a Ref to a Number parameter, as
        the string CloudFormation passes (AWS converts it), and its poller then cannot compare
        it: put the same value back through the API, as a number."""
        lam = self.client("lambda")
        scaling = lam.get_event_source_mapping(UUID=uuid_).get("ScalingConfig") or {}
        if "MaximumConcurrency" in scaling:
            maximum = int(scaling["MaximumConcurrency"])
            lam.update_event_source_mapping(UUID=uuid_, ScalingConfig={"MaximumConcurrency": maximum})

    def _ministack_template(self) -> Path:
        """The built template, less what ministack's CloudFormation refuses: alarms on metric
        math (`Metrics`), which tests/template checks instead. Artifact paths made absolute."""
        import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - only for a deploy

        template = yaml.safe_load(BUILT_TEMPLATE.read_text(encoding="utf-8"))
        resources = template["Resources"]
        for name in [n for n, r in resources.items() if "Metrics" in r.get("Properties", {})]:
            self._log(f"not deployed (ministack has no metric-math alarms): {name}")
            del resources[name]
        for resource in resources.values():
            properties = resource.get("Properties", {})
            for uri in ("CodeUri", "ContentUri"):
                if isinstance(properties.get(uri), str):
                    properties[uri] = str(BUILT_TEMPLATE.parent / properties[uri])
        path = self.work_dir / "template.yaml"
        path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
        return path

    def _failed_resources(self) -> str:
        """Why the stack failed: its resources' failure reasons (sam prints only the status)."""
        try:
            events = self.client("cloudformation").describe_stack_events(StackName=self.stack_name)
        except Exception as error:
            return f"(no stack events: {error})"
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events["StackEvents"]
            if e["ResourceStatus"].endswith("FAILED")
        ]
        return "failed resources:\n" + "\n".join(failed)

    def _create_bucket(self) -> str:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.bucket)
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=self.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        return self.bucket

    def run_sam(self, *args: str) -> None:
        """The SAM CLI against this ministack (dummy credentials, its endpoint)."""
        self._run_sam(*args)

    def _run_sam(self, *args: str) -> None:
        sam_tmp = self.work_dir / "sam"
        sam_tmp.mkdir(exist_ok=True)
        env = _base_env() | self.aws_env() | {"SAM_CLI_TELEMETRY": "0", "TMPDIR": str(sam_tmp)}
        result = subprocess.run(  # noqa: S603 - our own pinned venv binary
            [str(SAM), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise LocalStackError(f"sam {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    # ------------------------------------------------------------------ access
    def aws_env(self) -> dict[str, str]:
        """The environment that points boto3 and the SAM CLI at ministack."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - ministack's dummy credentials
        )

    @property
    def function_name(self) -> str:
        return self.outputs["IngestFunctionName"]

    @property
    def queue_url(self) -> str:
        return self.outputs["FailureQueueUrl"]

    @property
    def ingest_queue_url(self) -> str:
        """buffered: the queue S3/EventBridge send to and the function consumes."""
        return self.outputs["IngestQueueUrl"]

    def queue_depth(self, queue_url: str) -> int:
        """Messages visible, in flight or delayed on `queue_url`."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        return sum(int(attributes["Attributes"].get(name, 0)) for name in names)

    def upload(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)

    def queue_messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every body on the failure queue (or `queue_url`), left there (made visible again at once)."""
        sqs = self.client("sqs")
        queue_url = queue_url or self.queue_url
        seen: dict[str, dict[str, Any]] = {}
        handles = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                seen[message["MessageId"]] = json.loads(message["Body"])
                handles.append(message["ReceiptHandle"])
        for handle in handles:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return list(seen.values())

    def function_logs(self) -> list[dict[str, Any]]:
        """The function's JSON log records (Powertools), from CloudWatch Logs."""
        logs = self.client("logs")
        records = []
        for group in {f"/aws/lambda/{self.stack_name}-ingest", f"/aws/lambda/{self.function_name}"}:
            try:
                events = logs.filter_log_events(logGroupName=group)["events"]
            except logs.exceptions.ResourceNotFoundException:
                continue
            for event in events:
                message = event["message"].strip()
                if message.startswith("{"):
                    try:
                        records.append(json.loads(message))
                    except json.JSONDecodeError:
                        continue
        return records


def start_ministack(work_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """ministack on a free 127.0.0.1 port, in its own process group, its files in `work_dir`;
    returns the process (stop it with stop_ministack) and the endpoint once it answers."""
    if not MINISTACK.exists():
        raise LocalStackError(f"{MINISTACK.relative_to(ROOT)} is missing: run `make local-venvs` first")
    endpoint = f"http://127.0.0.1:{free_port()}"
    tmp = work_dir / "ministack"
    tmp.mkdir(parents=True)
    env = _base_env() | {
        "BIND_HOST": "127.0.0.1",
        "GATEWAY_PORT": endpoint.rsplit(":", 1)[1],
        "LAMBDA_ASYNC_RETRY_BASE_SECONDS": "0.2",
        "TMPDIR": str(tmp),
        # Inherited by the functions it runs: no X-Ray daemon here.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    log = (work_dir / "ministack.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own pinned venv binary
        [str(MINISTACK)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalStackError(f"ministack exited at start; see {work_dir}/ministack.log")
        try:
            if requests.get(f"{endpoint}/_ministack/health", timeout=1).ok:
                return process, endpoint
        except requests.RequestException:
            time.sleep(0.1)
    stop_ministack(process)
    raise LocalStackError("ministack did not answer its health check within 30 s")


def _base_env() -> dict[str, str]:
    """A controlled environment: ministack passes its whole environment on to the functions."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYENV_ROOT", "PYENV_VERSION")
    return {name: os.environ[name] for name in keep if name in os.environ}


def stop_ministack(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole group (ministack and its function workers), KILL what outlives 5 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
