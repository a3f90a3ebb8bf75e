"""Content check: do an object's first bytes look like the video container its extension promises? Pure.

The bridge reads the first `HEAD_BYTES` of an object (one ranged GET, `Range: bytes=0-63`) before
any Wistia request, so a text file renamed `.mp4` is rejected (`not_a_video`) instead of becoming a
media that fails in Wistia hours later. Signatures, by container:

- mp4, m4v, mov, 3gp, 3g2, f4v (ISO base media / QuickTime): `ftyp` at offset 4; old QuickTime
  files start with a `moov`, `mdat`, `wide`, `free`, `skip` or `pnot` atom instead;
- mkv, webm (Matroska / WebM): EBML `1A 45 DF A3` at 0;
- avi, divx, xvid (RIFF AVI): `RIFF` at 0 and `AVI ` at 8;
- ts (MPEG transport stream): sync byte `0x47` at 0; mts, m2ts: at 4 (after the timestamp) or 0;
- mpg, mpeg, vob, mod (MPEG program stream): `00 00 01 BA` (pack header) or `00 00 01 B3`
  (an MPEG-1/2 video sequence header);
- flv (Flash video): `FLV` at 0;
- asf, wmv (ASF): the header object GUID `30 26 B2 75 8E 66 CF 11 A6 D9 00 AA 00 62 CE 6C`.

An extension with no known signature passes (the allowlist already admitted it). A file that is a
different video container than its extension says (Matroska named `.mp4`) passes too, because
Wistia transcodes any container: the check is there to stop what is not a video at all, and its
rejection says what was found instead (text, an image, an archive, or the first bytes in hex).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

HEAD_BYTES = 64

_QUICKTIME_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_ASF_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")


def _iso_bmff(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS


def _ebml(head: bytes) -> bool:
    return head.startswith(b"\x1a\x45\xdf\xa3")


def _avi(head: bytes) -> bool:
    return head.startswith(b"RIFF") and head[8:12] == b"AVI "


def _transport_stream(head: bytes) -> bool:
    return head[:1] == b"\x47"


def _timestamped_transport_stream(head: bytes) -> bool:
    return head[4:5] == b"\x47" or _transport_stream(head)


def _program_stream(head: bytes) -> bool:
    return head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")


def _flv(head: bytes) -> bool:
    return head.startswith(b"FLV")


def _asf(head: bytes) -> bool:
    return head.startswith(_ASF_GUID)


class Container(NamedTuple):
    name: str
    matches: Callable[[bytes], bool]


ISO_BMFF = Container("an MP4/QuickTime file", _iso_bmff)
MATROSKA = Container("a Matroska/WebM file", _ebml)
AVI = Container("an AVI file", _avi)
MPEG_TS = Container("an MPEG transport stream", _transport_stream)
MPEG_TS_TIMESTAMPED = Container("an MPEG transport stream", _timestamped_transport_stream)
MPEG_PS = Container("an MPEG program stream", _program_stream)
FLV = Container("a Flash video", _flv)
ASF = Container("an ASF/WMV file", _asf)

# What each extension promises (with its dot, lower case, as validation.file_extension gives it).
EXPECTED: dict[str, Container] = {
    **dict.fromkeys((".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".f4v"), ISO_BMFF),
    **dict.fromkeys((".mkv", ".webm"), MATROSKA),
    **dict.fromkeys((".avi", ".divx", ".xvid"), AVI),
    ".ts": MPEG_TS,
    **dict.fromkeys((".mts", ".m2ts"), MPEG_TS_TIMESTAMPED),
    **dict.fromkeys((".mpg", ".mpeg", ".vob", ".mod"), MPEG_PS),
    ".flv": FLV,
    **dict.fromkeys((".asf", ".wmv"), ASF),
}
# The video containers a file may be instead of the one its extension names (still a video).
# The bare transport-stream sync byte is left out: one 0x47 byte proves nothing on its own.
_VIDEOS = (ISO_BMFF, MATROSKA, AVI, MPEG_PS, FLV, ASF)
# Common things that are not videos, to name what was found.
_NOT_VIDEOS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"ID3", "an MP3 audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"OggS", "an Ogg file"),
)


class Verdict(NamedTuple):
    """The check's answer: whether to send, what was expected and what the bytes are."""

    ok: bool
    expected: str | None  # the extension's container; None: no known signature
    found: str

    def message(self, extension: str) -> str:
        return f"{extension} promises {self.expected} but the object's first bytes are {self.found}"


def check_content(extension: str, head: bytes) -> Verdict:
    """Whether `head` (an object's first bytes) fits a file named with `extension` ('.mp4')."""
    expected = EXPECTED.get(extension.lower())
    if expected is None:
        return Verdict(True, None, "not checked (no known signature for this extension)")
    if expected.matches(head):
        return Verdict(True, expected.name, expected.name)
    other = next((container for container in _VIDEOS if container.matches(head)), None)
    if other is not None:  # another video container: Wistia transcodes it all the same
        return Verdict(True, expected.name, other.name)
    return Verdict(False, expected.name, describe(head))


def describe(head: bytes) -> str:
    """What the bytes look like, for a rejection message (never more than 16 bytes of them)."""
    if not head:
        return "nothing (the object is empty)"
    named = next((name for magic, name in _NOT_VIDEOS if head.startswith(magic)), None)
    if named is not None:
        return named
    if _is_text(head):
        return f"text ({head[:16].decode('utf-8', errors='replace')!r}...)"
    return f"unknown bytes ({head[:16].hex(' ')})"


def _is_text(head: bytes) -> bool:
    """Printable UTF-8 (a truncated last character allowed), tabs and line breaks."""
    text = head.decode("utf-8", errors="ignore")
    return len(text.encode("utf-8")) >= len(head) - 3 and all(
        char.isprintable() or char in "\t\r\n" for char in text
    )
