"""PDF text per page with pdfium: ~100x faster than unstructured's pdfminer path, and offline."""

import pypdfium2 as pdfium

from ingestion.parsers import Element, ParseError, Parser, register


class PdfParser(Parser):
    kinds = ("pdf",)

    def parse(self, kind: str, data: bytes) -> list[Element]:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise ParseError("the PDF is password-protected: remove the password and upload it again") from exc
            raise ParseError(f"the PDF is damaged and cannot be read ({exc})") from exc
        elements = []
        try:
            for number in range(len(document)):
                page = document[number]
                text = page.get_textpage().get_text_bounded()
                elements.append(Element(text=text.replace("\r\n", "\n").replace("\r", "\n"), page=number + 1))
        except pdfium.PdfiumError as exc:
            raise ParseError(f"the PDF is damaged and cannot be read ({exc})") from exc
        finally:
            document.close()
        return elements


register(PdfParser())
