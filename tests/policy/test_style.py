import pytest

from streams.config import SellerConfig
from tests.helpers import BODY, ORDER_ID, attachment, codes, decide, html, order, request


@pytest.mark.parametrize("req", [
    html('<img src="https://cdn.example.com/thanks.gif" alt="thanks">'),
    html('<img src="https://cdn.example.com/anim.GIF?v=2" alt="x">'),
    request(attachments=[attachment("warranty", "warranty.gif", "image/gif")]),
])
def test_sty003_fires_on_gifs(req):
    assert "STY003" in codes(req, order())


def test_sty003_silent_on_png_and_pdf():
    assert "STY003" not in codes(html('<img src="https://cdn.example.com/gift-logo.png" alt="Logo">'), order())
    assert "STY003" not in codes(request(attachments=[attachment("warranty", "warranty.pdf")]), order())


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


@pytest.mark.parametrize("req", [
    request(subject=f"Order {ORDER_ID} 🎉"),
    request(body=f"{BODY} Thanks 👍🏽"),
    html('<img src="https://cdn.example.com/logo.png" alt="🇩🇪 team">'),
])
def test_sty002_fires_on_emoji_anywhere(req):
    assert "STY002" in codes(req, order())


def test_sty002_silent_on_trademark_signs_and_accents():
    assert "STY002" not in codes(request(body=f"{BODY} Ceramic Mug™ by Brand® — très élégant, 日本語"), order())


@pytest.mark.parametrize("text", [f"{BODY} Grüße ✔", f"{BODY} très bien © ☕", "Lieferung ⏰ morgen", "ok ☺"])
def test_sty002_fires_on_emoji_in_latin_text(text):
    assert "STY002" in codes(request(body=text), order())


def test_emoji_pre_check_answers_as_the_full_set_does():
    """The Latin-1 shortcut must say "maybe" wherever the set of emoji starts intersects the text."""
    import random

    from streams.policy.rules.style import _emoji_starts, _may_hold_emoji

    rng = random.Random(5)
    pieces = ["a", " ", "é", "ß", "ÿ", "©", "®", "\u00a0", "日", "™", "✔", "⏰", "👍", "\u20e3", "ā", "x"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        assert _may_hold_emoji(text) == (not text.isascii() and not _emoji_starts().isdisjoint(text)), text


@pytest.mark.parametrize("style", ["padding: 0 150px", "margin-left: 130px", "margin: 25%"])
def test_sty004_fires_on_wide_margins(style):
    assert "STY004" in codes(html(f'<div style="{style}">x</div>'), order())


def test_sty004_silent_on_small_margins():
    assert "STY004" not in codes(html('<div style="padding: 10px 20px; margin: 0 auto">x</div>'), order())


@pytest.mark.parametrize("img", ['<img src="https://c.example/b.png" width="580" alt="b">',
                                 '<img src="https://c.example/b.png" style="width: 100%" alt="b">',
                                 '<img src="https://c.example/b.png" width="500px" alt="b">'])
def test_sty005_fires_on_wide_images(img):
    assert "STY005" in codes(html(img), order())


def test_sty005_silent_on_small_images():
    assert "STY005" not in codes(html('<img src="https://c.example/l.png" width="200" alt="Logo">'), order())


@pytest.mark.parametrize("extra", ['<p style="font-family: Comic Sans MS">x</p>', '<font color="red">x</font>',
                                   '<style>p { line-height: 2 }</style>'])
def test_sty006_fires_on_style_overrides(extra):
    assert "STY006" in codes(html(extra), order())


def test_sty006_silent_on_plain_markup():
    assert "STY006" not in codes(html("<p><strong>Delivery window:</strong> 9-12</p>"), order())


def test_sty007_fires_on_four_fonts():
    fonts = "".join(f'<p style="font-family: {f}, sans-serif">x</p>' for f in ("Arial", "Georgia", "Verdana", "Courier"))
    assert "STY007" in codes(html(fonts), order())


def test_sty007_silent_on_three_fonts():
    fonts = "".join(f'<p style="font-family: {f}">x</p>' for f in ("Arial", "Georgia", "Arial", "Verdana"))
    assert "STY007" not in codes(html(fonts), order())


@pytest.mark.parametrize("extra", ['<p style="text-align: center">x</p>', '<center>x</center>', '<p align="right">x</p>'])
def test_sty008_fires_on_alignment_overrides(extra):
    assert "STY008" in codes(html(extra), order())


def test_sty008_silent_on_left_alignment():
    assert "STY008" not in codes(html('<p style="text-align: left">x</p>'), order())
    assert "STY008" not in codes(request(), order())


@pytest.mark.parametrize("extra", [
    '<img src="https://cdn.example.com/logo.png">',
    '<a href="https://www.amazon.com/orders">click here</a>',
    '<a href="https://www.amazon.com/orders"></a>',
    "<table><tr><td>Item</td><td>Price</td></tr><tr><td>Mug</td><td>9.99</td></tr></table>",
    '<a href="https://www.amazon.de/orders">Hier klicken</a>',
])
def test_sty001_fires_on_accessibility_problems(extra):
    assert "STY001" in codes(html(extra), order())


@pytest.mark.parametrize("extra", [
    '<img src="https://cdn.example.com/logo.png" alt="MyShop logo">',
    '<a href="https://www.amazon.com/orders">your order page on Amazon</a>',
    "<table><tr><th>Item</th><th>Price</th></tr><tr><td>Mug</td><td>9.99</td></tr></table>",
    '<table role="presentation"><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>',
])
def test_sty001_silent_on_accessible_html(extra):
    assert "STY001" not in codes(html(extra), order())


@pytest.mark.parametrize("extra", ["We will recieve the parcel.", "We will send the the parcel.",
                                   "Die Bestelung ist unterwegs."])
def test_sty011_warns_on_spelling(extra):
    decision = decide(request(body=f"{BODY} {extra}"), order())
    assert decision["route"] == "approved" and "STY011" in {w["code"] for w in decision["warnings"]}


def test_sty011_blocks_when_seller_says_so():
    config = SellerConfig(rule_actions={"STY011": "block"})
    assert decide(request(body=f"{BODY} We will recieve it."), order(), config)["route"] == "blocked"


@pytest.mark.parametrize("extra", ["We will receive the parcel tomorrow.", "Das ist sehr sehr schön.",
                                   "Nous nous excusons du retard."])
def test_sty011_silent_on_correct_text(extra):
    assert "STY011" not in codes(request(body=f"{BODY} {extra}"), order())
