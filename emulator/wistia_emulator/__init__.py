"""A local emulator of Wistia's upload host (upload.wistia.com) and of its media reads on
api.wistia.com (the legacy /v1/medias.json and the current /modern/medias), on one port, for tests,
the demo and benchmarks.

    with WistiaEmulator(tokens=("tok",)) as wistia:
        requests.post(f"{wistia.url}/s3_copy", data={"bucket": "my-bucket", "source_file": "a.mp4"},
                      headers={"Authorization": "Bearer tok"})
        wistia.medias()  # what was created; wistia.requests(): what was received

It follows Wistia's documented upload contract: form-encoded parameters, Bearer auth with a
text/html 401, both 400 error shapes, the video limit, rate limits with Retry-After, and an
optional S3 existence check. Faults (latency, error rates, dropped connections, timeouts, scripted
rules) are configurable at runtime and seeded. `python -m wistia_emulator --help` runs it alone.
"""

from .faults import FaultRule, Faults
from .server import WistiaEmulator

__all__ = ["FaultRule", "Faults", "WistiaEmulator"]
