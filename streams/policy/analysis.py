"""One pass over a message: subject, body text or HTML, links, images, styling.

Every rule reads the `Analysis` of its message; none parses anything again. HTML is
parsed once with lxml's HTML parser (measured ~18 us per 1.5 KB email against ~290 us for
BeautifulSoup+lxml, the same tree for our purposes; BeautifulSoup is not used at all);
plain-text bodies skip the parser.
"""
from __future__ import annotations

import html as html_lib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from lxml import etree

from . import lexicons

# Plain lxml elements (no lxml.html element classes: their per-element lookup cost more than the
# parse itself); recover=True parses whatever a browser would.
_HTML_PARSER = etree.HTMLParser(recover=True, remove_comments=False, default_doctype=False)
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]")
URL_RE = re.compile(r"""(?i)\b((?:https?|ftp)://[^\s<>"'\]\)]+|www\.[^\s<>"'\]\)]+)""")
# Bare domains written without scheme ("mystore.com/deals"); TLDs limited to avoid file names.
BARE_DOMAIN_RE = re.compile(
    r"(?i)(?<![@\w./-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|shop|store|online|site|io|co|us|uk|de|fr|es|it|jp|eu|ca|mx|br|in|nl|se|pl|at|ch|be|au)"
    r"(?:\.[a-z]{2})?)(?![\w@-])(/[^\s<>\"']*)?"
)
lexicons.register_prefiltered("text_links", URL_RE, BARE_DOMAIN_RE)
_CSS_DECL_RE = re.compile(r"\s*([-a-zA-Z]+)\s*:\s*([^;]+)")
_LENGTH_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(px|%|em|rem|pt)?\s*$")
BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "td", "th", "ul", "ol", "blockquote"}
_STYLE_ATTRIBUTES = ("align", "color", "face", "bgcolor", "valign")   # in this order: evidence is stable
NON_CONTENT_TAGS = {"script", "style", "head", "title", "noscript", "template"}
_NO_ATTRIBUTES: dict[str, str] = {}   # shared, never written


class cached:
    """functools.cached_property without its per-instance lock (Python 3.11 takes an RLock on
    every first access: ~2 us, five times per message). The engine's objects live in one thread."""

    def __init__(self, func):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


def byte_table(token: re.Pattern) -> bytes:
    """A bytes.translate table that keeps each Latin-1 character `token` matches (one character)
    and turns every other into a space: derived from the pattern itself, so it cannot disagree."""
    return bytes(code if token.fullmatch(chr(code)) else 0x20 for code in range(256))


def is_latin1(text: str) -> bool:
    """Every character below U+0100 (German, French, Spanish, Italian text): one C pass."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def latin1_runs(text: str, table: bytes) -> list[bytes] | None:
    """The maximal runs of characters `table` keeps, as Latin-1 bytes, in order: what
    `re.findall(token + "+", text)` returns, at half its cost (German, French, Spanish and Italian
    text is Latin-1); None when the text has other characters (the caller uses the regex)."""
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return data.translate(table).split()


def normalize(text: str) -> str:
    """Fold disguises: full-width to ASCII (NFKC), zero-width characters removed, entities decoded."""
    if "&" in text:
        text = html_lib.unescape(text)
    if text.isascii():
        return text  # ASCII is NFKC already and has no zero-width characters
    text = unicodedata.normalize("NFKC", text)
    return _ZERO_WIDTH_RE.sub("", text) if _ZERO_WIDTH_RE.search(text) else text


def collapse_line_breaks(text: str) -> str:
    """Every run of spaces, tabs and line breaks that holds a line break becomes one line break;
    the ends are stripped. What `re.sub(r"[ \t]*\n[ \t\n]*", "\n", text).strip()` returns, at a
    third of its cost (that pattern may start anywhere, so `re` tries every position)."""
    return "\n".join(filter(None, [line.strip(" \t") for line in text.split("\n")])).strip()


def parse_style(style: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2).strip().lower() for m in _CSS_DECL_RE.finditer(style or "")}


def css_length_px(value: str | None, max_width: int) -> float | None:
    """A CSS length in px; percentages are of the content width, em/rem at 16 px."""
    if not value:
        return None
    match = _LENGTH_RE.match(value.replace("!important", ""))
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2) or "px"
    if unit == "%":
        return number / 100 * max_width
    if unit in ("em", "rem"):
        return number * 16
    if unit == "pt":
        return number * 4 / 3
    return number


@dataclass(slots=True)
class Link:
    href: str
    text: str
    host: str
    scheme: str
    has_image: bool = False
    from_html: bool = True
    aria_label: str = ""


@dataclass(slots=True)
class Image:
    src: str
    alt: str | None
    width: str | None
    height: str | None
    hidden: bool
    host: str
    scheme: str
    link: Link | None = None


@dataclass(slots=True)
class StyleUse:
    tag: str
    prop: str
    value: str
    snippet: str


@dataclass
class Analysis:
    subject: str
    body_format: str
    text: str                                   # visible body text (HTML: text content)
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    styles: list[StyleUse] = field(default_factory=list)   # inline style declarations + attributes
    style_blocks: list[str] = field(default_factory=list)
    font_tags: list[str] = field(default_factory=list)
    center_tags: int = 0
    break_runs: list[tuple[int, str]] = field(default_factory=list)  # (length, evidence)
    data_tables_without_headers: list[str] = field(default_factory=list)
    parse_error: str | None = None

    @cached
    def full_text(self) -> str:
        return f"{self.subject}\n{self.text}"

    @cached
    def norm_text(self) -> str:
        """Subject + body, normalised for pattern matching (NFKC, no zero-width, lower case)."""
        return normalize(self.full_text).lower()

    def set_normalized_body(self, normalized_text: str) -> None:
        """Set `norm_text` from `normalize(self.text)`, already computed by the caller: normalising
        the two parts of `full_text` is normalising the whole (no entity, composition or case
        context crosses the line break between them; tests/policy/test_analysis_normalize.py)."""
        self.__dict__["norm_text"] = f"{normalize(self.subject)}\n{normalized_text}".lower()

    @cached
    def alt_texts(self) -> str:
        return "\n".join(img.alt for img in self.images if img.alt)


# "scheme://host" followed by a path, query, fragment or nothing: what urlsplit would return, at a
# fifth of its cost. Anything else (ports, user info, IPv6, odd characters) goes to urlsplit.
_PLAIN_URL_RE = re.compile(r"(https?)://([a-z0-9.-]+)(?=[/?#]|\Z)", re.IGNORECASE)


def _host_scheme(url: str) -> tuple[str, str]:
    # The same few URLs (the shop's logo, amazon.com) recur across messages: remembered, unless
    # long (a hostile message could otherwise fill the cache with megabytes).
    return _cached_host_scheme(url) if len(url) <= 200 else _parse_host_scheme(url)


def _parse_host_scheme(url: str) -> tuple[str, str]:
    url = url.strip()
    plain = _PLAIN_URL_RE.match(url)
    if plain:
        return plain.group(2).lower(), plain.group(1).lower()
    schemeless = url.lower().startswith("www.")
    try:
        parts = urlsplit("http://" + url if schemeless else url)
        return (parts.hostname or "").lower(), "" if schemeless else parts.scheme.lower()
    except ValueError:
        return "", ""


_cached_host_scheme = lru_cache(maxsize=4096)(_parse_host_scheme)


def _text_links(text: str, scanned: str) -> list[Link]:
    """Links written as text (normalised text in). Most texts have none: the message's one
    prefilter scan (of `scanned`, its normalised, lower-cased subject and text, which contains
    this text) says whether the two regexes need to run at all."""
    if not lexicons.may_match("text_links", scanned):
        return []
    links = []
    for match in URL_RE.finditer(text):
        url = match.group(1).rstrip(".,;:!?")
        host, scheme = _host_scheme(url)
        links.append(Link(href=url, text=url, host=host, scheme=scheme or "", from_html=False))
    covered = {link.host for link in links}
    for match in BARE_DOMAIN_RE.finditer(text):
        host = match.group(1).lower()
        if host in covered or any(host.endswith("." + c) for c in covered):
            continue
        links.append(Link(href=match.group(0), text=match.group(0), host=host, scheme="", from_html=False))
    return links


def _text_break_runs(text: str) -> list[tuple[int, str]]:
    runs = []
    for match in re.finditer(r"\n(?:[ \t\r]*\n){2,}", text):
        runs.append((match.group(0).count("\n"), repr(match.group(0))))
    return runs


def analyse(subject: str, body: str, body_format: str, max_width: int = 600) -> Analysis:
    if body_format != "html":
        text = body.replace("\r\n", "\n")
        result = Analysis(subject=subject, body_format="text", text=text)
        normalized = normalize(text)
        result.set_normalized_body(normalized)
        result.links = _text_links(normalized, result.norm_text)
        result.break_runs = _text_break_runs(text)
        return result
    return _analyse_html(subject, body, max_width)


def _analyse_html(subject: str, body: str, max_width: int) -> Analysis:
    result = Analysis(subject=subject, body_format="html", text="")
    if not body.strip():
        return result
    try:
        root = etree.fromstring(body, _HTML_PARSER)
        if root is None:
            raise etree.ParserError("document is empty")
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        result.parse_error = str(exc)
        result.text = body
        result.links = _text_links(normalize(body), result.norm_text)
        return result

    texts: list[str] = []
    linked_images: dict = {}   # img element -> the Link it sits in
    run, run_evidence = 0, []

    def close_run():
        nonlocal run, run_evidence
        if run > 2:
            result.break_runs.append((run, "".join(run_evidence)[:120]))
        run, run_evidence = 0, []

    # lxml builds a new Python string on every .text/.tail/.attrib access: each is read once.
    for el in root.iter():
        tag = el.tag
        tail = el.tail
        if not isinstance(tag, str):  # comments, processing instructions
            if tail:
                texts.append(tail)
            continue
        tag = tag.lower()
        text = el.text
        if tag in NON_CONTENT_TAGS:
            if tag == "style" and text:
                result.style_blocks.append(text.strip()[:200])
            if tail:
                texts.append(tail)
            continue
        items = el.items()
        attrs = dict(items) if items else _NO_ATTRIBUTES
        style = _NO_ATTRIBUTES
        if items:   # most elements of an e-mail have none: skip the attribute checks
            if "style" in attrs:
                style = parse_style(attrs["style"])
                for prop, value in style.items():
                    result.styles.append(StyleUse(tag, prop, value, f'<{tag} style="{prop}: {value}">'))
            for attr in (a for a in _STYLE_ATTRIBUTES if a in attrs):
                result.styles.append(StyleUse(tag, attr, attrs[attr].lower(), f'<{tag} {attr}="{attrs[attr]}">'))
        if tag == "font":
            result.font_tags.append(f"<font{''.join(f' {k}={v!r}' for k, v in attrs.items())}>")
        elif tag == "center":
            result.center_tags += 1

        if tag == "br":
            run += 1
            run_evidence.append("<br>")
            if tail and not tail.isspace():
                close_run()
        elif text and not text.isspace():   # own text (isspace: strip()'s white space, no copy)
            if run:
                close_run()
        elif (tag == "p" or tag == "div") and len(el) == 0:
            run += 2
            run_evidence.append(f"<{tag}></{tag}>")

        if tag in BLOCK_TAGS:
            texts.append("\n" if tag != "td" and tag != "th" else " ")
        if text:
            texts.append(text)
        if tail:
            if run and tag != "br" and not tail.isspace():
                close_run()
            texts.append(tail)

        if tag == "a":
            if "href" in attrs:
                href = attrs["href"].strip()
                host, scheme = _host_scheme(href)
                if len(el):
                    link_text = " ".join("".join(el.itertext()).split())
                    imgs = list(el.iter("img"))   # `a` itself is no img; C iteration, not ElementPath
                else:   # a leaf (most links): its own text, without itertext's iterator (~4 us)
                    link_text, imgs = " ".join(text.split()) if text else "", ()
                link = Link(href=href, text=link_text, host=host, scheme=scheme, has_image=bool(imgs),
                            aria_label=attrs.get("aria-label", "") or attrs.get("title", ""))
                result.links.append(link)
                for img in imgs:
                    # Keyed by the element: the dict holds the proxy, so lxml hands the same object
                    # out again when the walk reaches the image (an attribute written into the
                    # document could be forged by the message itself).
                    linked_images[img] = link
        elif tag == "img":
            src = attrs.get("src", "").strip()
            host, scheme = _host_scheme(src)
            hidden = style.get("display") == "none" or style.get("visibility") == "hidden" \
                or style.get("opacity") in ("0", "0.0") or "hidden" in attrs
            result.images.append(Image(
                src=src, alt=attrs.get("alt"), width=attrs.get("width") or style.get("width"),
                height=attrs.get("height") or style.get("height"), hidden=hidden, host=host, scheme=scheme,
                link=linked_images.get(el) if linked_images else None,
            ))
        elif tag == "table" and attrs.get("role", "").lower() not in ("presentation", "none"):
            rows = el.findall(".//tr")
            if len(rows) >= 2 and not el.findall(".//th") \
                    and max(len(r.findall("td")) for r in rows) >= 2:
                first_cells = [" ".join("".join(td.itertext()).split()) for td in rows[0].findall("td")]
                result.data_tables_without_headers.append(" | ".join(first_cells)[:120])
    close_run()
    result.text = collapse_line_breaks("".join(texts))
    # URLs written as text inside the HTML count too (e.g. "visit www.shop.example").
    html_hosts = {link.host for link in result.links}
    normalized = normalize(result.text)
    result.set_normalized_body(normalized)
    result.links.extend(l for l in _text_links(normalized, result.norm_text) if l.host not in html_hosts)
    return result
