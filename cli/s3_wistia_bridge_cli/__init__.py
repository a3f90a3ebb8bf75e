"""The operator's command line, `s3-wistia-bridge`: replay the failure queue, show or discard one
message, backfill existing objects, look up one object, check a deployed stack (doctor).

`s3-wistia-bridge --help` lists the commands; docs/runbook.md says when to use which. The CLI is
its own package, installed with the project (`pip install .`, `pipx install .`) and never shipped
in the Lambda layer: it uses the function's core code (event parsing, validation, idempotency
keys) from `s3_wistia_bridge`, plus click and rich, which the function does not need.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("s3-wistia-bridge")
except PackageNotFoundError:  # run from a source tree that was not installed
    __version__ = "0+unknown"
