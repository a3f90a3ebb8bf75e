"""s3-wistia-bridge: every video that lands in S3, copied into Wistia exactly once."""

__version__ = "0.1.0"
