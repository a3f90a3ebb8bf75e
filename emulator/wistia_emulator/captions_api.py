"""A media's captions: `/modern/medias/{id}/captions[/{language}]` and
`/v1/medias/{id}/captions[/{language}].json`.

- `GET .../captions`: every caption of the media; `POST .../captions`: `caption_file` (required,
  SRT text, as a JSON string or a multipart part) and `language` (optional, 3 lowercase letters,
  ISO-639-2; Wistia detects it when absent, the emulator takes "eng"), an empty 200, or 400
  "Captions already exist for this video" when that language has captions.
- `GET .../captions/{language}`: JSON `{language, english_name, native_name, text, is_draft, id}`,
  or the text as SRT, VTT or plain text with a `.srt`, `.vtt` or `.txt` suffix or that Accept type.
- `PUT .../captions/{language}` (`caption_file` only) and `DELETE`: 404 when that language has none.

Only SRT is documented as input. WEBVTT text is refused with a 400 unless the setting
`accept_vtt_captions` is on (VTT upload is undocumented: refusing it is the emulator's default).
"""

from __future__ import annotations

import re

from .catalog import Books
from .library_api import READ, WRITE, Call, Refusal, body, in_books, routes
from .messages import JSON_TYPE, TEXT_TYPE, Response, json_response
from .state import EmulatorState

DEFAULT_LANGUAGE = "eng"
_LANGUAGE = re.compile(r"[a-z]{3}")
_TIMING = r"\d{2}:\d{2}:\d{2}[,.]\d{3} --> \d{2}:\d{2}:\d{2}[,.]\d{3}"
# One SRT cue: its number, its timing line, at least one line of text.
_SRT_CUE = re.compile(rf"\d+[ \t]*\n{_TIMING}[^\n]*\n(?:[^\n]*\S[^\n]*\n?)+")
_SRT_TIMING = re.compile(r"(\d{2}:\d{2}:\d{2}),(\d{3})")
# English and native names of common ISO-639-2 codes; another code is named by the code itself.
_NAMES = {
    "eng": ("English", "English"),
    "fra": ("French", "Français"),
    "fre": ("French", "Français"),
    "spa": ("Spanish", "Español"),
    "deu": ("German", "Deutsch"),
    "ger": ("German", "Deutsch"),
    "ita": ("Italian", "Italiano"),
    "por": ("Portuguese", "Português"),
    "nld": ("Dutch", "Nederlands"),
    "jpn": ("Japanese", "日本語"),
    "zho": ("Chinese", "中文"),
    "kor": ("Korean", "한국어"),
}
_FORMATS = {".srt": "srt", ".vtt": "vtt", ".txt": "txt", ".json": "json", "": ""}
_ACCEPT = (("text/vtt", "vtt"), ("application/x-subrip", "srt"), ("text/srt", "srt"), ("text/plain", "txt"))


def _video_missing(_: str) -> Refusal:
    return Refusal(404, "Video not found")


def _captions_missing(_: str) -> Refusal:
    return Refusal(404, "Captions not found or video not found")


def _srt(call: Call, accept_vtt: bool) -> str:
    """The caption_file's text, checked to be SRT."""
    text = body(call).get("caption_file")
    if not isinstance(text, str) or not text.strip():
        raise Refusal(400, "caption_file is required: an SRT file or the text of one.")
    normalized = text.replace("\r\n", "\n").lstrip("\ufeff").strip() + "\n"
    if normalized.startswith("WEBVTT"):
        if accept_vtt:
            return text
        raise Refusal(400, "caption_file must be SRT; WEBVTT is not an accepted caption format.")
    cues = re.split(r"\n\s*\n", normalized.strip())
    if not all(_SRT_CUE.fullmatch(cue.strip() + "\n") for cue in cues):
        raise Refusal(400, "caption_file is not valid SRT.")
    return text


def shown(caption: dict[str, object]) -> dict[str, object]:
    language = str(caption["language"])
    english, native = _NAMES.get(language, (language, language))
    return {**caption, "english_name": english, "native_name": native}


def listed(state: EmulatorState, call: Call) -> Response:
    captions = in_books(state, lambda books: list(books.captions(call.ids[0]).values()), _video_missing)
    return json_response(200, [shown(caption) for caption in captions])


def create(state: EmulatorState, call: Call) -> Response:
    text = _srt(call, state.settings.accept_vtt_captions)
    language = body(call).get("language") or DEFAULT_LANGUAGE
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise Refusal(400, "language must be a 3-letter ISO-639-2 code, e.g. eng.")
    added = in_books(state, lambda books: books.add_caption(call.ids[0], language, text), _video_missing)
    if not added:
        raise Refusal(400, "Captions already exist for this video")
    return Response(200, b"", JSON_TYPE)


def _language(call: Call) -> tuple[str, str]:
    """The language code of the path and the format its suffix asks for ("" when none)."""
    language = call.ids[1]
    suffix = call.ids[2] if len(call.ids) > 2 else ""
    return language, _FORMATS[suffix]


def show(state: EmulatorState, call: Call) -> Response:
    language, wanted = _language(call)
    caption = in_books(state, lambda books: books.caption(call.ids[0], language), _captions_missing)
    kind = wanted or next((kind for media, kind in _ACCEPT if media in call.accept), "json")
    text = str(caption["text"])
    if kind == "json":
        return json_response(200, shown(caption))
    if kind == "vtt":
        return Response(200, as_vtt(text).encode("utf-8"), "text/vtt; charset=utf-8")
    if kind == "txt":
        return Response(200, as_plain(text).encode("utf-8"), TEXT_TYPE)
    return Response(200, text.encode("utf-8"), "application/x-subrip; charset=utf-8")


def as_vtt(srt: str) -> str:
    return "WEBVTT\n\n" + _SRT_TIMING.sub(r"\1.\2", srt.replace("\r\n", "\n").strip()) + "\n"


def as_plain(srt: str) -> str:
    """The cue texts only, one line each."""
    lines = srt.replace("\r\n", "\n").split("\n")
    return (
        "\n".join(line for line in lines if line.strip() and not line.strip().isdigit() and "-->" not in line)
        + "\n"
    )


def _path_language(call: Call) -> str:
    language, wanted = _language(call)
    if not _LANGUAGE.fullmatch(language) or wanted not in ("", "json"):
        raise Refusal(404, "Captions or video not found.")
    return language


def replace(state: EmulatorState, call: Call) -> Response:
    language = _path_language(call)
    text = _srt(call, state.settings.accept_vtt_captions)

    def change(books: Books) -> None:
        books.caption(call.ids[0], language)["text"] = text

    in_books(state, change, lambda _: Refusal(404, "Captions or video not found."))
    return Response(200, b"", JSON_TYPE)


def delete(state: EmulatorState, call: Call) -> Response:
    language = _path_language(call)

    def change(books: Books) -> None:
        books.caption(call.ids[0], language)
        del books.captions(call.ids[0])[language]

    in_books(state, change, lambda _: Refusal(404, "Captions or video not found."))
    return Response(200, b"", JSON_TYPE)


ROUTES = [
    *routes("GET", "/medias/{id}/captions", "/medias/{id}/captions.json", READ, listed),
    *routes("POST", "/medias/{id}/captions", "/medias/{id}/captions.json", WRITE, create),
    *routes("GET", "/medias/{id}/captions/{id}{fmt}", "/medias/{id}/captions/{id}{fmt}", READ, show),
    *routes("PUT", "/medias/{id}/captions/{id}{fmt}", "/medias/{id}/captions/{id}{fmt}", WRITE, replace),
    *routes("DELETE", "/medias/{id}/captions/{id}{fmt}", "/medias/{id}/captions/{id}{fmt}", WRITE, delete),
]
