"""Operator tools: replay the failure queue, backfill existing objects, look up one object.

`s3-wistia-bridge --help` lists the commands; docs/runbook.md says when to use which. The tools
use the same core code as the function (event parsing, validation, idempotency keys), stdlib and
boto3 only, so the package still ships unchanged in the Lambda layer.
"""
