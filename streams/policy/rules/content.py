"""Content a permitted message may not contain (RULES.md section 4)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ...config import host_matches
from ..model import ORDER_ID_RE, Caseless, Context, Finding
from .. import lexicons
from ..prefilter import widen

PERMITTED_ATTACHMENT_KINDS = {"product_instructions", "warranty", "invoice"}


def external_link(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks links to websites other than Amazon's and those needed to complete the order.

    Why is this bad: Amazon forbids links that take the buyer off Amazon, except secure working
    links needed to complete the order (carrier tracking, for example). The allow-list holds
    Amazon's marketplaces and the major carriers of each marketplace; a seller can extend it
    (`allowed_link_hosts`). Bare domains written in text (`www.myshop.com`, `myshop.de/sale`) count.

    Example: `<a href="https://myshop.example.com/deals">our shop</a>`.
    Passes: `https://www.dhl.de/en/privatkunden.html?piececode=00340434161094042557` (carrier tracking).
    """
    seen = set()
    for link in ctx.analysis.links:
        if not link.host or link.scheme in ("mailto", "tel") or link.host in seen:
            continue
        if not host_matches(link.host, ctx.config.link_hosts):
            seen.add(link.host)
            yield Finding(link.href[:200], f"Links to {link.host} are not allowed; only Amazon and links "
                                           "needed to complete the order (e.g. carrier tracking) are.")


def insecure_link(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks any link that does not use https.

    Why is this bad: Amazon accepts only secure (https) links, even to allowed sites.

    Example: `http://www.ups.com/track?num=1Z999AA10123456784`.
    Passes: `https://www.ups.com/track?num=1Z999AA10123456784`.
    """
    for link in ctx.analysis.links:
        if link.scheme in ("http", "ftp"):
            yield Finding(link.href[:200], "Links must use https; this one is not secure.")


def attachment_not_permitted(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks attachments other than product instructions, warranty information or invoices.

    Why is this bad: Amazon permits only those three kinds of attachment in buyer messages.

    Example: an attachment of kind `other` (`catalogue-2026.pdf`).
    Passes: an attachment of kind `invoice` (`invoice-1042.pdf`).
    """
    for attachment in ctx.request.get("attachments") or []:
        if attachment["kind"] not in PERMITTED_ATTACHMENT_KINDS:
            yield Finding(attachment["filename"], f"Attachment '{attachment['filename']}' is not product "
                                                  "instructions, warranty information or an invoice.")


# Obfuscated "at"/"dot" spellings folded before matching e-mail addresses.
_AT = r"(?:@|\s*[\(\[\{]\s*at\s*[\)\]\}]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[\(\[\{]\s*dot\s*[\)\]\}]\s*|\s+dot\s+|\s+punkt\s+|\s+point\s+|\s+punto\s+)"
EMAIL_RE = re.compile(rf"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}"
                      r"(?:com|net|org|de|fr|es|it|jp|co|uk|info|biz|eu|io|me|shop|mx|ca|nl|pl|se|at|ch)\b")
_SPACED_CHARS_RE = re.compile(r"\b(\w) (?=\w\b)")
# Widened, that pattern would be "\w \w" (nearly every text). Kept rare: a one-character word after
# anything Python might count as a non-word character (every non-ASCII one) and before one.
_ASCII_WORD, _ANY_WORD = "0-9A-Za-z_", r"0-9A-Za-z_\x{80}-\x{10FFFF}"
lexicons.register_prefiltered("spaced_chars", _SPACED_CHARS_RE,
                              superset=rf"(?:^|[^{_ASCII_WORD}])[{_ANY_WORD}] [{_ANY_WORD}](?:[^{_ASCII_WORD}]|$)")
# Phone numbers: an international prefix, a parenthesised area code, or a phone keyword before the
# digits. Bare digit runs (tracking numbers, invoice numbers) and dates are not phones.
_PHONE_INTERNATIONAL = r"(?:\+|00)[1-9]\d{0,2}[\s./-]*(?:\(\d{1,4}\)[\s./-]*)?\d(?:[\s./-]*\d){5,13}(?!\d)"
_PHONE_AREA_CODE = r"\(\d{2,5}\)[\s./-]*\d(?:[\s./-]*\d){4,10}(?!\d)"
_PHONE_WORDS = (r"(?:phone|call us|call me|tel\.?|telephone|whatsapp|mobile|handy|telefon|anrufen|"
                r"téléphone|appelez|teléfono|llámenos|llame|telefono|chiamaci|chiami|cellulare|電話)")
PHONE_RE = re.compile(rf"(?:(?<![\w+/.-]){_PHONE_INTERNATIONAL}|{_PHONE_AREA_CODE})")
PHONE_KEYWORD_RE = re.compile(rf"\b{_PHONE_WORDS}[^\d\n]{{0,20}}(\+?\d(?:[\s./()-]*\d){{6,14}})")
# Widened, the keyword pattern loses its word boundary and its 20-character gap: "tel" in every
# German "Bestellung" followed by any digit later (every German message ran both regexes). The
# superset keeps both, as "not preceded by an ASCII word character" (Python's \w is wider, so this
# matches more) and a gap class that excludes only ASCII digits (Python's excludes more).
lexicons.register_prefiltered(
    "phone", PHONE_RE, PHONE_KEYWORD_RE,
    superset=rf"(?:^|[^0-9A-Za-z_+/.\-]){widen(_PHONE_INTERNATIONAL)}|{widen(_PHONE_AREA_CODE)}"
             rf"|(?:^|[^0-9A-Za-z_]){_PHONE_WORDS}[^0-9\n]{{0,20}}" + widen(r"\d"))
lexicons.register_prefiltered("email", EMAIL_RE)


def contact_details(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks e-mail addresses and phone numbers, also when disguised.

    Why is this bad: Amazon forbids sharing contact details that move the conversation off
    Amazon. Disguises are folded first: full-width characters, zero-width characters and HTML
    entities (normalised text), spaced-out letters, "at"/"dot" spellings. Phones need an
    international prefix, a parenthesised area code or a phone word before them, so order IDs,
    tracking, invoice and ASIN/SKU numbers and dates are not phones.

    Example: `write to j o h n (at) shop dot com`, `WhatsApp: 0171 2345678`, `+49 30 1234567`.
    Passes: `tracking number 1Z999AA10123456784`, `invoice INV-2026-000123 of 24.11.2026`.
    """
    text = ctx.analysis.norm_text
    for mailto in (link for link in ctx.analysis.links if link.scheme == "mailto"):
        yield Finding(mailto.href[:200], "E-mail addresses are not allowed; buyers answer through Amazon.")
        return
    # "j o h n (at) ...": also try with the spaces between single characters removed. That only
    # removes spaces, so an address found there needs "@" or "at" (from "at" or "a t") here.
    spaced = lexicons.may_match("spaced_chars", text) and ("@" in text or "at" in text or "a t" in text)
    for variant in (text, _SPACED_CHARS_RE.sub(r"\1", text)) if spaced else (text,):
        match = EMAIL_RE.search(variant) if lexicons.may_match("email", variant) else None
        if match:
            yield Finding(match.group(0), "E-mail addresses are not allowed; buyers answer through Amazon.")
            break
    match = None
    if lexicons.may_match("phone", text):
        match = PHONE_RE.search(text) or PHONE_KEYWORD_RE.search(text)
    if match and not ORDER_ID_RE.search(match.group(0)):
        yield Finding(match.group(0).strip(), "Phone numbers are not allowed; buyers contact you through Amazon.")


_TRACKING_QUERY = Caseless(r"(?:^|[?&])(?:utm_[a-z]+|mc_[ce]id|_hsenc|trk[a-z_]*|tracking_id|open_id|"
                           r"uid|recipient|email|e)=")
_TRACKING_PATH = Caseless(r"(?:pixel|beacon|/open(?:\.gif|\.png)?(?:$|[/?])|/track/open|spacer|1x1)")


def tracking_pixel(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks tracking pixels and web beacons.

    Why is this bad: Amazon forbids tracking buyers through messages. Checked: images of at
    most 2 px in width or height, hidden images (display:none, visibility:hidden, opacity 0),
    and image URLs with tracking parameters (`utm_*`, `mc_eid`, `uid=`...) or beacon paths.

    Example: `<img src="https://t.example.com/open.gif?uid=42" width="1" height="1">`.
    Passes: `<img src="https://cdn.example.com/logo.png" width="120" alt="Logo">`.
    """
    for image in ctx.analysis.images:
        sizes = [image.width, image.height]
        tiny = any(s is not None and s.strip().rstrip("px").strip().replace(".", "", 1).isdecimal()
                   and float(s.strip().rstrip("px")) <= 2 for s in sizes)
        path, _, query = image.src.partition("?")
        if tiny or image.hidden or _TRACKING_QUERY.search(query) or _TRACKING_PATH.search(path):
            yield Finding(image.src[:200] or "<img>", "Tracking pixels and tracking images are not allowed.")
            return


_WEB_ADDRESS = Caseless(r"(?:https?://|www\.)\S+")


def logo_with_link(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a logo (any image) that links to a website, or shows a web address.

    Why is this bad: Amazon forbids logos that contain or display a link to the seller's website.
    An image inside a link to a host outside the allow-list, or an image whose alt text or
    file name carries a web address, fires.

    Example: `<a href="https://myshop.example.com"><img src="https://cdn.example.com/logo.png" alt="Logo"></a>`.
    Passes: `<img src="https://cdn.example.com/logo.png" alt="MyShop logo">` (no link).
    """
    for image in ctx.analysis.images:
        if image.link is not None and image.link.host and not host_matches(image.link.host, ctx.config.link_hosts):
            yield Finding(f'<a href="{image.link.href[:120]}"><img src="{image.src[:80]}">',
                          "A logo or image must not link to your website.")
            return
        if image.alt and _WEB_ADDRESS.search(image.alt):
            yield Finding(image.alt[:200], "A logo or image must not display a web address.")
            return


_OPT_OUT_WORDS = (r"unsubscribe|opt[\s-]?out|abmelden|abbestellen|désabonner|desabonner|désinscri|"
                  r"darse de baja|darte de baja|cancelar (?:la )?suscripci|disiscriv|annulla(?:re)? l'iscrizione|"
                  r"配信停止|登録解除")
_OPT_OUT_RE = re.compile(_OPT_OUT_WORDS, re.IGNORECASE)
_OPT_OUT = Caseless(_OPT_OUT_WORDS)
lexicons.register_prefiltered("opt_out", _OPT_OUT_RE)


def opt_out_link(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks links to opt out of or unsubscribe from messages.

    Why is this bad: buyers opt out through Amazon; a seller's unsubscribe link suggests
    marketing e-mail and is prohibited. A link whose address or text is an unsubscribe/opt-out
    (in the six marketplace languages), or a text line that offers one next to a web address, fires.

    Example: `<a href="https://shop.example/unsubscribe">Unsubscribe</a>`, `Abmelden: https://shop.example/u`.
    Passes: "You can manage message preferences in your Amazon account." (no link).
    """
    for link in ctx.analysis.links:
        if _OPT_OUT.search(link.href) or _OPT_OUT.search(link.text):
            yield Finding(link.text or link.href[:200], "Do not include an unsubscribe or opt-out link.")
            return
    if not lexicons.may_match("opt_out", ctx.analysis.norm_text):
        return
    for line in ctx.analysis.norm_text.splitlines():
        if _OPT_OUT.search(line) and re.search(r"https?://|www\.", line):
            yield Finding(line.strip()[:200], "Do not include an unsubscribe or opt-out link.")
            return


def product_image(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks images of the purchased product.

    Why is this bad: Amazon already shows the product to the buyer; product images in messages
    are prohibited. An image fires when its URL is one of the order items' `image_urls`, names an
    item's ASIN, or comes from Amazon's product-image hosts (`/images/I/`).

    Example: `<img src="https://m.media-amazon.com/images/I/61abc.jpg" alt="Mug">`.
    Passes: `<img src="https://cdn.mybrand.example/logo.png" alt="MyBrand">`.
    """
    items = (ctx.order or {}).get("items") or []
    known_urls = {url for item in items for url in item.get("image_urls") or []}
    asins = {item["asin"].lower() for item in items if item.get("asin")}
    for image in ctx.analysis.images:
        src = image.src.lower()
        if image.src in known_urls or any(asin in src for asin in asins) or "/images/i/" in src:
            yield Finding(image.src[:200], "Images of the purchased product are not allowed; Amazon shows them already.")
            return


def sensitive_content(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks profanity, offensive language, threats of violence and sexual content.

    Why is this bad: Amazon forbids such content in buyer messages. Text is checked in the six
    marketplace languages; images are judged by their file name and alt text only.

    Example: "This is a shit situation" / "Quelle merde" / an image `alt="nude model"`.
    Passes: "We are sorry the shipment arrived damaged."
    """

    for text in (ctx.analysis.norm_text, " ".join(f"{i.src} {i.alt or ''}" for i in ctx.analysis.images).lower()):
        match = lexicons.search("sensitive", text) if text else None
        if match:
            yield Finding(match.group(0), "Offensive, violent or sexual language is not allowed.")
            return


_STOCK_IMAGE = Caseless(r"giphy|tenor\.com|shutterstock|istockphoto|gettyimages|unsplash|pexels|pixabay|clipart|"
                        r"meme|smiley|emoticon|stock[-_]photo|holiday|christmas|valentine")


def unrelated_image(ctx: Context) -> Iterator[Finding]:
    """What it does: reports images not related to the seller's brand or company.

    Why is this bad: Amazon allows logos and brand images, not decoration. Without configuration
    the gateway cannot know the brand, so the default is `warn`, for stock-photo, GIF/meme and
    clip-art hosts or names. When the seller configures `brand_image_hosts`, every image from
    another host is reported and the action becomes `block`.

    Example: `<img src="https://media.giphy.com/thanks.png" alt="thanks">`.
    Passes: `<img src="https://cdn.mybrand.example/logo.png" alt="MyBrand logo">` (brand host configured).
    """
    brand_hosts = ctx.config.brand_image_hosts
    for image in ctx.analysis.images:
        if not image.host:
            continue
        if brand_hosts:
            if not host_matches(image.host, brand_hosts):
                yield Finding(image.src[:200], f"Images must come from your brand hosts; {image.host} is not one.")
                return
        elif _STOCK_IMAGE.search(f"{image.src} {image.alt or ''}"):
            yield Finding(image.src[:200], "This image does not look related to your brand or company.")
            return
