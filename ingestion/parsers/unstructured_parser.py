"""Every other format through `unstructured`, offline.

As shipped, unstructured downloads a spaCy model on first use; here it gets a blank English
pipeline with a sentencizer instead (sentence splitting works; part-of-speech tags are empty, so
its narrative-text heuristics are weaker, which chunking does not rely on).

HTML (pages, and the HTML body of e-mails) is prepared first (html_prepare.py): active content
dropped, hidden text marked.
"""

import email
import email.policy
import functools
import io
import os

from ingestion.detect import decode_text
from ingestion.parsers import Element, ParseError, Parser, register
from ingestion.parsers.html_prepare import html_prepared, without_sentinels

os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

SKIPPED_CATEGORIES = {"PageBreak", "Image", "Header", "Footer", "PageNumber"}
ENCRYPTED_MAIL_TYPES = {"multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"}


@functools.cache
def _offline_nlp() -> None:
    import spacy
    from unstructured.nlp import tokenize

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    tokenize._get_nlp = lambda: nlp


def _refuse_encrypted_mail(text: str) -> None:
    message = email.message_from_string(text)
    if message.get_content_type() in ENCRYPTED_MAIL_TYPES:
        raise ParseError("the email is encrypted (S/MIME or PGP) and cannot be indexed")


def _email_with_prepared_html(text: str) -> bytes:
    """The message with its HTML body parts prepared like an HTML upload. A message the standard
    library cannot take apart and put back together is passed on as it came."""
    text = without_sentinels(text)
    try:
        message = email.message_from_string(text, policy=email.policy.default)
        prepared = False
        for part in message.walk():
            if part.get_content_type() == "text/html" and not part.is_attachment():
                part.set_content(html_prepared(part.get_content()), subtype="html")
                prepared = True
        return message.as_bytes() if prepared else text.encode()
    except Exception:  # malformed headers, an unknown charset, hopeless HTML: unstructured copes on its own
        return text.encode()


def _refuse_encrypted_outlook_message(data: bytes) -> None:
    from oxmsg import Message

    headers = Message.load(io.BytesIO(data)).message_headers
    content_type = headers.get("Content-Type", "").lower()
    if "encrypted" in content_type or "pkcs7-mime" in content_type:
        raise ParseError("the email is encrypted (S/MIME or PGP) and cannot be indexed")


def _partition(kind: str, data: bytes):
    _offline_nlp()
    if kind in {"html", "md", "txt", "xml", "csv", "tsv", "eml"}:
        text = decode_text(data)
        if kind == "html":
            from unstructured.partition.html import partition_html

            return partition_html(text=html_prepared(text))
        if kind == "md":
            from unstructured.partition.md import partition_md

            return partition_md(text=text)
        if kind == "txt":
            from unstructured.partition.text import partition_text

            return partition_text(text=text)
        if kind == "xml":
            from unstructured.partition.xml import partition_xml

            return partition_xml(text=text)
        if kind == "csv":
            from unstructured.partition.csv import partition_csv

            return partition_csv(file=io.BytesIO(text.encode()), encoding="utf-8")
        if kind == "tsv":
            from unstructured.partition.tsv import partition_tsv

            return partition_tsv(file=io.BytesIO(text.encode()))
        from unstructured.partition.email import partition_email

        _refuse_encrypted_mail(text)
        return partition_email(file=io.BytesIO(_email_with_prepared_html(text)), process_attachments=False)
    if kind == "msg":
        _refuse_encrypted_outlook_message(data)
    from unstructured.partition.auto import partition

    return partition(file=io.BytesIO(data), metadata_filename=f"upload.{kind}")


class UnstructuredParser(Parser):
    kinds = (
        "docx",
        "pptx",
        "xlsx",
        "xls",
        "epub",
        "odt",
        "rtf",
        "msg",
        "eml",
        "html",
        "md",
        "txt",
        "xml",
        "csv",
        "tsv",
    )

    def parse(self, kind: str, data: bytes) -> list[Element]:
        from unstructured.errors import UnprocessableEntityError

        try:
            raw = _partition(kind, data)
        except ParseError:
            raise
        except UnprocessableEntityError as exc:
            raise ParseError(str(exc)) from exc
        except Exception as exc:  # a parser library failing on this file is a property of the file
            raise ParseError(f"the {kind} file could not be parsed ({type(exc).__name__}: {exc})"[:500]) from exc
        keep_sentinels = kind in {"html", "eml"}
        return [
            Element(
                text=item.text if keep_sentinels else without_sentinels(item.text),
                is_heading=item.category == "Title",
                depth=getattr(item.metadata, "category_depth", None) or 0,
                page=getattr(item.metadata, "page_number", None),
            )
            for item in raw
            if item.category not in SKIPPED_CATEGORIES
        ]


register(UnstructuredParser())
