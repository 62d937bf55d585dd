import pytest

from tests.helpers import ORDER_ID, codes, order, request

BODY = f"Order {ORDER_ID}: your parcel is delayed by two days."


def html(extra: str) -> dict:
    return request(body_format="html", body=f"<p>{BODY}</p>{extra}")


def attachment(filename, content_type):
    return {"filename": filename, "content_type": content_type, "size_bytes": 1000, "kind": "warranty"}


@pytest.mark.parametrize("req", [
    html('<img src="https://cdn.example.com/thanks.gif" alt="thanks">'),
    html('<img src="https://cdn.example.com/anim.GIF?v=2" alt="x">'),
    request(attachments=[attachment("warranty.gif", "image/gif")]),
])
def test_sty003_fires_on_gifs(req):
    assert "STY003" in codes(req, order())


def test_sty003_silent_on_png_and_pdf():
    assert "STY003" not in codes(html('<img src="https://cdn.example.com/gift-logo.png" alt="Logo">'), order())
    assert "STY003" not in codes(request(attachments=[attachment("warranty.pdf", "application/pdf")]), order())


@pytest.mark.parametrize("req", [
    request(body=f"{BODY}\n\n\n\nRegards"),
    html("<br><br><br><p>Regards</p>"),
    html("<p></p><p></p><p>Regards</p>"),
])
def test_sty009_fires_on_break_runs(req):
    assert "STY009" in codes(req, order())


@pytest.mark.parametrize("req", [
    request(body=f"Hello,\n\n{BODY}\n\nRegards"),
    html("<br><br><p>Regards</p>"),
])
def test_sty009_silent_on_normal_paragraphs(req):
    assert "STY009" not in codes(req, order())


@pytest.mark.parametrize("src", ["http://cdn.example.com/logo.png", "HTTP://cdn.example.com/a.jpg",
                                 "http://images.example.org/brand.webp"])
def test_sty010_fires_on_http_images(src):
    assert "STY010" in codes(html(f'<img src="{src}" alt="Logo">'), order())


def test_sty010_silent_on_https_images():
    assert "STY010" not in codes(html('<img src="https://cdn.example.com/logo.png" alt="Logo">'), order())
    assert "STY010" not in codes(request(), order())
