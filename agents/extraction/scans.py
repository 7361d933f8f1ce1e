"""A scan's pages as images, bounded, and their OCR text: a PNG, JPEG or TIFF (every frame a page), or a PDF
without a text layer rasterised page by page with PDFium (pypdfium2).

Every upload is untrusted, and OCR costs seconds of CPU per page, so the work is bounded before it starts: a
page count, a pixel count checked from the image header before any pixel is decoded (a 40 kB PNG can claim
gigapixels), and a size above which a page is scaled down to about A4 at 300 dpi, the resolution tesseract is
trained for (more pixels cost time and buy no accuracy). Tesseract's own time is bounded per page (`ocr`).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator

import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from agents.extraction.ocr import read_words
from agents.extraction.ocr_confidence import is_doubtful
from agents.extraction.ocr_layout import OcrText, lay_out
from agents.extraction.pdf import DocumentTooLarge, EmptyDocument, UnreadableDocument

# An invoice is a page or a few; a scanned bundle of many is a batch to split, not one bill to pay.
MAX_SCAN_PAGES = 10
# The most pixels a page may claim: A4 at 600 dpi is 35 million. Anything larger is refused unread.
MAX_IMAGE_PIXELS = 40_000_000
# Pillow's own decompression-bomb guard, set to the same bound rather than left to its default (89 MP), so
# no code path here decodes more than this whatever it opens. Process-wide; the app has no other Pillow use.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# About A4 at 300 dpi (2480 x 3508): larger pages are scaled down to this many pixels before OCR.
OCR_PIXELS = 9_000_000
_PDF_DPI = 300


def read_scanned_document(data: bytes, mime: str) -> OcrText:
    """The OCR text of a scan, with the spans of its doubtful words. CPU-heavy: call it off the event loop."""
    images = _pdf_pages(data) if mime == "application/pdf" else _image_pages(data)
    pages = [read_words(image) for image in images]
    if not any(pages):
        raise EmptyDocument(
            "no text could be read from this scan (a blank page, or print too faint or too small?); "
            "send a clearer scan, a text PDF or the invoice's text"
        )
    return lay_out(pages, is_doubtful)


def _image_pages(data: bytes) -> Iterator[Image.Image]:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; here any image over the limit is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = getattr(image, "n_frames", 1)
            if frames > MAX_SCAN_PAGES:
                raise DocumentTooLarge(
                    f"this image has {frames} pages; a scanned invoice may have at most {MAX_SCAN_PAGES}"
                )
            for index in range(frames):
                image.seek(index)
                _check_pixels(image.width, image.height)
                frame = ImageOps.exif_transpose(image)  # a phone photo's rotation lives in its EXIF tag
                yield _fit(_on_white(frame))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as exc:
        raise UnreadableDocument(f"this image is damaged or not a PNG, JPEG or TIFF ({type(exc).__name__})") from exc


def _pdf_pages(data: bytes) -> Iterator[Image.Image]:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(f"this scanned PDF cannot be read ({exc}); send it again or send its text") from exc
    try:
        if len(document) > MAX_SCAN_PAGES:
            raise DocumentTooLarge(
                f"this scanned PDF has {len(document)} pages; OCR reads at most {MAX_SCAN_PAGES}. "
                "Send the invoice's pages only, or a text PDF"
            )
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()  # in points, 1/72 inch
            # 300 dpi, unless the page is so large that would exceed the OCR size: then as much as fits.
            scale = min(_PDF_DPI / 72, math.sqrt(OCR_PIXELS / max(width * height, 1.0)))
            yield page.render(scale=scale, grayscale=True).to_pil().convert("L")
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(f"a page of this scanned PDF cannot be drawn ({exc}); send it again") from exc
    finally:
        document.close()


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise _too_many_pixels(width, height)


def _too_many_pixels(width: int | None = None, height: int | None = None) -> DocumentTooLarge:
    size = f" ({width} x {height})" if width and height else ""
    return DocumentTooLarge(
        f"this image has too many pixels{size}; a scan may have at most {MAX_IMAGE_PIXELS // 1_000_000} million "
        "(A4 at 600 dpi). Scan at 300 dpi"
    )


def _on_white(image: Image.Image) -> Image.Image:
    # Dropping the alpha channel would show what transparent pixels hide, usually black: text on a transparent
    # background would become a black page. Laid on white paper instead.
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(paper, rgba).convert("L")
    return image.convert("L")


def _fit(image: Image.Image) -> Image.Image:
    pixels = image.width * image.height
    if pixels <= OCR_PIXELS:
        return image
    factor = math.sqrt(OCR_PIXELS / pixels)
    return image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))), Image.LANCZOS)
