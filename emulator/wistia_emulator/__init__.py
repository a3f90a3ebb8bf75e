"""A local emulator of Wistia's upload host (upload.wistia.com) and of its Data API on
api.wistia.com (the legacy /v1/....json and the current /modern/...), on one port, for tests, the
demo and benchmarks: media reads (data_api.py); swap, update, delete, archive and background jobs
(media_edits.py); captions (captions_api.py); folders, the legacy projects (folders_api.py).

    with WistiaEmulator(tokens=("tok",)) as wistia:
        requests.post(f"{wistia.url}/s3_copy", data={"bucket": "my-bucket", "source_file": "a.mp4"},
                      headers={"Authorization": "Bearer tok"})
        wistia.medias()  # what was created; wistia.requests(): what was received

It follows Wistia's documented upload contract: form-encoded parameters, Bearer auth with a
text/html 401, both 400 error shapes, the video limit, rate limits with Retry-After, and an
optional S3 existence check. Faults (latency, error rates, dropped connections, timeouts, scripted
rules matched by method and path pattern) are configurable at runtime and seeded; they and the
rate limit apply to uploads and to the library calls (library_api.py), not to media reads.

Control endpoints for the library (control.py): GET /__emulator__/medias/{hashed_id} (a media's
content fingerprint, tags, archived flag, captions, deletion), POST /__emulator__/medias/{hashed_id}
{"type": ...}, GET|POST /__emulator__/folders ({"names": [...]}), POST /__emulator__/permissions
({"token", "permission": full|read_only|upload_only}), GET /__emulator__/jobs, POST
/__emulator__/jobs/finish; settings archiving_enabled, job_queued_seconds, job_started_seconds,
swap_replacement (keep|delete), accept_vtt_captions, restore_days.
`python -m wistia_emulator --help` runs it alone.
"""

from .faults import FaultRule, Faults
from .server import WistiaEmulator

__all__ = ["FaultRule", "Faults", "WistiaEmulator"]
