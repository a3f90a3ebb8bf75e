"""Caption files beside a video: their keys, language codes, WebVTT -> SRT, SRT checks. Pure.

`a/b.<lang>.srt` or `.vtt` (every video of stem `a/b`) and `a/b.mp4.<lang>.srt` (exactly `a/b.mp4`)
are captions of the video in `<lang>`: a three-letter ISO 639-2 code, as Wistia's caption path
takes it (`^[a-z]{3}$`, https://docs.wistia.com/reference/put_medias-mediahashedid-captions-
languagecode), or a two-letter ISO 639-1 code of the table below. Wistia documents only SRT as
caption input, so WebVTT is converted; SRT is checked and sent normalized (renumbered cues,
`HH:MM:SS,mmm` times, LF line ends). Bad input answers a `CaptionError`, never an exception.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from .validation import file_extension

CAPTION_EXTENSIONS = frozenset({".srt", ".vtt"})
MAX_CAPTION_BYTES = 1024 * 1024
# ISO 639-1 -> ISO 639-2/T for the languages editors name most; any other two-letter code is refused
# (a guess would put the captions under the wrong language).
TWO_LETTER_CODES = {
    "ar": "ara",
    "cs": "ces",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "es": "spa",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "ko": "kor",
    "nl": "nld",
    "no": "nor",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sv": "swe",
    "th": "tha",
    "tr": "tur",
    "uk": "ukr",
    "vi": "vie",
    "zh": "zho",
}
_UTF8_BOM = "\ufeff"
_SRT_TIME = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{3})$")
_VTT_TIME = re.compile(r"^(?:(\d{2,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_ARROW = re.compile(r"\s+-->\s+")
_KEPT_TAGS = re.compile(r"^</?[biu]>$")
_ANY_TAG = re.compile(r"<[^>\n]*>")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")


class CaptionFile(NamedTuple):
    """What a caption key says: its language, format, and the video(s) it belongs to."""

    language: str  # ISO 639-2, three lower-case letters
    extension: str  # ".srt" or ".vtt"
    stem: str  # `a/b`: the videos `a/b.<ext>`
    video_key: str | None  # `a/b.mp4` when the key names exactly one video


class CaptionError(NamedTuple):
    message: str


def is_caption_key(key: str) -> bool:
    return file_extension(key) in CAPTION_EXTENSIONS


def caption_file(key: str, allowed_extensions: frozenset[str]) -> CaptionFile | CaptionError:
    """The caption a key names (`a/b.eng.srt`, `a/b.mp4.en.vtt`), or why it names none."""
    extension = file_extension(key)
    without = key[: -len(extension)]
    code_part = file_extension(without)
    if not code_part:
        return CaptionError(
            f"{key.rsplit('/', 1)[-1]!r} has no language code: name it <video>.<lang>{extension}"
        )
    language = language_code(code_part[1:])
    if isinstance(language, CaptionError):
        return language
    base = without[: -len(code_part)]
    base_extension = file_extension(base)
    if base_extension in allowed_extensions:
        return CaptionFile(language, extension, base[: -len(base_extension)], base)
    return CaptionFile(language, extension, base, None)


def language_code(code: str) -> str | CaptionError:
    """The ISO 639-2 code Wistia takes, from a three-letter code or a known two-letter one."""
    lowered = code.lower()
    if not (lowered.isascii() and lowered.isalpha()):
        return CaptionError(f"language code {code!r} is not letters")
    if len(lowered) == 3:
        return lowered
    if len(lowered) == 2 and lowered in TWO_LETTER_CODES:
        return TWO_LETTER_CODES[lowered]
    return CaptionError(
        f"language code {code!r} is neither ISO 639-2 (three letters, e.g. eng) "
        f"nor a known ISO 639-1 code ({', '.join(sorted(TWO_LETTER_CODES))})"
    )


# ---------------------------------------------------------------------------------- content


class Cue(NamedTuple):
    start_ms: int
    end_ms: int
    text: tuple[str, ...]


def srt_text(data: bytes, extension: str) -> str | CaptionError:
    """The SRT to send for a caption file's bytes (`.srt` checked, `.vtt` converted)."""
    text = decode(data)
    if isinstance(text, CaptionError):
        return text
    cues = parse_vtt(text) if extension == ".vtt" else parse_srt(text)
    if isinstance(cues, CaptionError):
        return cues
    return render_srt(cues)


def decode(data: bytes) -> str | CaptionError:
    """UTF-8 text (a BOM dropped), line ends as LF; refused: too big, not UTF-8, NUL."""
    if len(data) > MAX_CAPTION_BYTES:
        return CaptionError(f"{len(data)} bytes, over the limit of {MAX_CAPTION_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return CaptionError(f"not UTF-8 text (byte {error.start})")
    if "\x00" in text:
        return CaptionError("contains NUL characters: not a text file")
    return text.removeprefix(_UTF8_BOM).replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: str) -> list[list[str]]:
    """Blocks of non-blank lines, separated by blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def parse_srt(text: str) -> list[Cue] | CaptionError:
    cues: list[Cue] = []
    for number, block in enumerate(_blocks(text), start=1):
        lines = block[1:] if block[0].strip().isdigit() else block
        if not lines:
            return CaptionError(f"cue {number}: a number without a timing line")
        timing = _timing(lines[0], _SRT_TIME)
        if isinstance(timing, CaptionError):
            return CaptionError(f"cue {number}: {timing.message}")
        if lines[1:]:
            cues.append(Cue(timing[0], timing[1], tuple(lines[1:])))
    return cues or CaptionError("no cue: an SRT file needs at least one timed caption")


def parse_vtt(text: str) -> list[Cue] | CaptionError:
    """WebVTT (https://www.w3.org/TR/webvtt1/): the header, NOTE/STYLE/REGION blocks, cue
    identifiers, cue settings and `mm:ss.ttt` times; cue text keeps <b>, <i>, <u> and drops
    the other tags (voices, classes, timestamps), entities decoded."""
    blocks = _blocks(text)
    header = blocks[0][0] if blocks else ""
    if not (header == "WEBVTT" or header.startswith(("WEBVTT ", "WEBVTT\t"))):
        return CaptionError("not WebVTT: the first line must be WEBVTT")
    cues: list[Cue] = []
    for number, block in enumerate(blocks[1:], start=1):
        cue = _vtt_cue(block)
        if isinstance(cue, CaptionError):
            return CaptionError(f"block {number}: {cue.message}")
        if cue is not None and cue.text:
            cues.append(cue)
    return cues or CaptionError("no cue: a WebVTT file needs at least one timed caption")


def _vtt_cue(block: list[str]) -> Cue | CaptionError | None:
    """One block's cue; None for a NOTE, STYLE or REGION block."""
    if block[0].split(maxsplit=1)[0] in _VTT_BLOCKS and "-->" not in block[0]:
        return None
    lines = block if "-->" in block[0] else block[1:]  # a cue identifier first
    if not lines or "-->" not in lines[0]:
        return CaptionError("no timing line (start --> end)")
    timing = _timing(lines[0], _VTT_TIME)
    if isinstance(timing, CaptionError):
        return timing
    text_lines = tuple(line for line in (_vtt_text(line) for line in lines[1:]) if line.strip())
    return Cue(timing[0], timing[1], text_lines)


def _timing(line: str, pattern: re.Pattern[str]) -> tuple[int, int] | CaptionError:
    parts = _ARROW.split(line.strip(), maxsplit=1)
    if len(parts) != 2:
        return CaptionError(f"{line[:60]!r} is not a timing line (start --> end)")
    start = _milliseconds(parts[0], pattern)
    end = _milliseconds(parts[1].split()[0] if parts[1].split() else "", pattern)
    if start is None or end is None:
        return CaptionError(f"{line[:60]!r} has a malformed timestamp")
    if end < start:
        return CaptionError(f"{line[:60]!r} ends before it starts")
    return start, end


def _milliseconds(text: str, pattern: re.Pattern[str]) -> int | None:
    match = pattern.match(text)
    if match is None:
        return None
    hours, minutes, seconds, millis = match.groups()
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _vtt_text(line: str) -> str:
    kept = _ANY_TAG.sub(lambda tag: tag.group(0) if _KEPT_TAGS.match(tag.group(0)) else "", line)
    return html.unescape(kept)


def render_srt(cues: list[Cue]) -> str:
    return "".join(
        f"{number}\n{_srt_time(cue.start_ms)} --> {_srt_time(cue.end_ms)}\n" + "\n".join(cue.text) + "\n\n"
        for number, cue in enumerate(cues, start=1)
    )


def _srt_time(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"
