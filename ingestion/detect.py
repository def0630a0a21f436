"""What a file is, from its bytes first and its name second; and how its text is encoded."""

import codecs
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import charset_normalizer
import filetype
import olefile

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200

MIME_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "msg": "application/vnd.ms-outlook",
    "epub": "application/epub+zip",
    "odt": "application/vnd.oasis.opendocument.text",
    "rtf": "application/rtf",
    "html": "text/html",
    "md": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "eml": "message/rfc822",
    "xml": "application/xml",
    "txt": "text/plain",
}
EMAIL_HEADERS = ("from:", "to:", "subject:", "date:", "mime-version:", "received:", "message-id:", "return-path:")
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


class UnsupportedFile(Exception):
    """The file cannot be indexed; the message says why in words a user understands."""


@dataclass(frozen=True)
class FileKind:
    kind: str

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.kind]


def decode_text(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)
    if b"\x00" in data[:4096]:
        guessed = _utf16_or_32_without_bom(data[:4096])
        if guessed:
            return data.decode(guessed, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise UnsupportedFile("the file is not text in any encoding this appliance recognises")
    return str(best)


def _utf16_or_32_without_bom(sample: bytes) -> str | None:
    """Text in UTF-16/32 without a byte order mark shows as NULs at regular positions."""
    sample = sample[: len(sample) - len(sample) % 4]
    if not sample:
        return None
    quarters = [sample[offset::4].count(0) / (len(sample) / 4) for offset in range(4)]
    if quarters[1] > 0.9 and quarters[2] > 0.9 and quarters[3] > 0.9:
        return "utf-32-le"
    if quarters[0] > 0.9 and quarters[1] > 0.9 and quarters[2] > 0.9:
        return "utf-32-be"
    if quarters[1] > 0.9 and quarters[3] > 0.9:
        return "utf-16-le"
    if quarters[0] > 0.9 and quarters[2] > 0.9:
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\n\r\f\v")
    return bool(sample) and controls / len(sample) > 0.05


def _zip_kind(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnsupportedFile("the file looks like a ZIP container but its structure is broken") from exc
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = max(1, sum(entry.compress_size for entry in entries))
    if uncompressed > MAX_UNCOMPRESSED_BYTES or uncompressed / compressed > MAX_COMPRESSION_RATIO:
        raise UnsupportedFile(
            f"the file expands to {uncompressed:,} bytes from {compressed:,} (a decompression bomb?); refused"
        )
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("ppt/", "pptx"), ("xl/", "xlsx")):
            if any(name.startswith(prefix) for name in names):
                return kind
    if "mimetype" in names:
        mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
        if mimetype == MIME_TYPES["epub"]:
            return "epub"
        if mimetype == MIME_TYPES["odt"]:
            return "odt"
    raise UnsupportedFile("ZIP archives are not accepted: upload the documents inside it one by one")


def _ole_kind(data: bytes) -> str:
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
        streams = {"/".join(path) for path in ole.listdir()}
    except OSError as exc:
        raise UnsupportedFile("the file looks like a legacy Office file but its structure is broken") from exc
    if "EncryptedPackage" in streams:
        raise UnsupportedFile("the file is password-protected: remove the password and upload it again")
    if any(stream.startswith("__substg1.0_") for stream in streams):
        return "msg"
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "WordDocument" in streams or "PowerPoint Document" in streams:
        raise UnsupportedFile("legacy .doc and .ppt files are not supported: save as .docx or .pptx")
    raise UnsupportedFile("unrecognised legacy Office file")


def _text_kind(text: str, suffix: str) -> str:
    head = text[:2048].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")) or (suffix in {".html", ".htm"} and head.startswith("<")):
        return "html"
    if suffix == ".eml" or sum(1 for line in head.splitlines()[:20] if line.startswith(EMAIL_HEADERS)) >= 2:
        return "eml"
    if suffix in {".md", ".markdown"}:
        return "md"
    if suffix in {".csv", ".tsv"}:
        return suffix[1:]
    if head.startswith("<?xml") or suffix == ".xml":
        return "xml"
    return "txt"


def detect(data: bytes, filename: str) -> FileKind:
    if not data.strip():
        raise UnsupportedFile("the file is empty")
    suffix = PurePath(filename).suffix.lower()
    if data[:1024].find(b"%PDF-") != -1:
        return FileKind("pdf")
    if data.startswith(ZIP_MAGIC):
        return FileKind(_zip_kind(data))
    if data.startswith(OLE_MAGIC):
        return FileKind(_ole_kind(data))
    if data.startswith(b"{\\rtf"):
        return FileKind("rtf")
    guessed = filetype.guess(data[:8192])
    if guessed is not None:
        if guessed.mime.startswith("image/"):
            raise UnsupportedFile("images are not indexed: this appliance has no OCR")
        raise UnsupportedFile(f"files of type {guessed.mime} are not supported")
    text = decode_text(data)
    if _looks_binary(text):
        raise UnsupportedFile("the file is binary data of a type this appliance does not know")
    if not text.strip():
        raise UnsupportedFile("the file contains only whitespace")
    return FileKind(_text_kind(text, suffix))
