"""Style that is prohibited (RULES.md section 5)."""
from __future__ import annotations

import operator
import re
from itertools import islice
from collections.abc import Iterator
from functools import cache

from .. import lexicons
from ..analysis import byte_table, css_length_px, is_latin1, latin1_runs
from ..model import Context, Finding


def animated_gif(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks GIF images and GIF attachments.

    Why is this bad: Amazon's guidelines forbid animated GIFs in buyer messages.

    Example: `<img src="https://cdn.example.com/thanks.gif" alt="thanks">`.
    Passes: `<img src="https://cdn.example.com/logo.png" alt="Logo">`.
    """
    for image in ctx.analysis.images:
        if image.src.lower().split("?")[0].endswith(".gif") or image.src.lower().startswith("data:image/gif"):
            yield Finding(image.src[:200], "GIF images are not allowed in buyer messages.")
    for attachment in ctx.request.get("attachments") or []:
        if attachment["content_type"].lower() == "image/gif" or attachment["filename"].lower().endswith(".gif"):
            yield Finding(attachment["filename"], "GIF attachments are not allowed in buyer messages.")


def excess_line_breaks(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks more than two consecutive line breaks.

    Why is this bad: Amazon forbids runs of blank lines (blank-line runs in text, `<br>` runs,
    empty paragraphs) that pad a message.

    Example: text with three blank lines in a row, or `<br><br><br>`.
    Passes: paragraphs separated by one blank line, or `<br><br>`.
    """
    if ctx.analysis.break_runs:
        length, evidence = ctx.analysis.break_runs[0]
        yield Finding(evidence, f"{length} consecutive line breaks; at most two are allowed.")


def insecure_image(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks images loaded over http.

    Why is this bad: Amazon requires every image to be loaded securely (https).

    Example: `<img src="http://cdn.example.com/logo.png" alt="Logo">`.
    Passes: `<img src="https://cdn.example.com/logo.png" alt="Logo">`.
    """
    for image in ctx.analysis.images:
        if image.scheme == "http":
            yield Finding(image.src[:200], "Images must be loaded over https; this one uses http.")


# Trademark signs are emoji in Unicode's data but are ordinary in product names.
_NOT_EMOJI = {"©", "®", "™"}


@cache
def _emoji_starts() -> frozenset[str]:
    """Every non-ASCII character that begins an emoji sequence in the `emoji` package's data,
    plus the keycap mark (ASCII keycaps like "1️⃣" need it)."""
    import emoji

    return frozenset(e[0] for e in emoji.EMOJI_DATA if not e[0].isascii()) | {"\u20e3"}


@cache
def _latin1_emoji_starts() -> tuple[str, ...]:
    """The few emoji starts below U+0100 (today © and ®): for Latin-1 text, looking for these
    few is the whole question, cheaper than the set test over every character."""
    return tuple(sorted(c for c in _emoji_starts() if ord(c) < 0x100))


def _may_hold_emoji(text: str) -> bool:
    if text.isascii():
        return False
    if is_latin1(text):
        return any(start in text for start in _latin1_emoji_starts())
    return not _emoji_starts().isdisjoint(text)


def emoji_used(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks any emoji, in the subject, the body or image `alt` text.

    Why is this bad: Amazon's guidelines forbid emoji in buyer messages. Detection uses the
    `emoji` package's Unicode data (sequences, skin tones, flags), not a hand-written range list;
    ©, ® and ™ are not counted.

    Example: subject `Your order 🎉`, or `<img alt="👍">`.
    Passes: `Ceramic Mug™ - order 123-1234567-1234567`.
    """
    import emoji

    for where, text in (("subject", ctx.subject), ("body", ctx.analysis.text), ("alt text", ctx.analysis.alt_texts)):
        if not _may_hold_emoji(text):
            continue  # no character that can begin an emoji: skip the (slow) tokenizer
        for found in emoji.emoji_list(text):
            if found["emoji"] not in _NOT_EMOJI:
                yield Finding(found["emoji"], f"Emoji are not allowed in buyer messages (found in the {where}).")
                return


def oversized_image(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks images wider than 80% of the maximum content width (600 px by default).

    Why is this bad: Amazon limits image size so messages read well on every device. Width comes
    from the `width` attribute or inline CSS; percentages are of the content width.

    Example: `<img src="https://cdn.example.com/banner.png" width="580" alt="Banner">`.
    Passes: `<img src="https://cdn.example.com/logo.png" width="200" alt="Logo">`.
    """
    limit = 0.8 * ctx.config.max_width_px
    for image in ctx.analysis.images:
        width = css_length_px(image.width, ctx.config.max_width_px)
        if width is not None and width > limit:
            yield Finding(f'<img src="{image.src[:120]}" width="{image.width}">',
                          f"Images may be at most {limit:.0f} px wide (80% of {ctx.config.max_width_px} px).")


_SPACING = ("margin", "margin-left", "margin-right", "margin-top", "margin-bottom",
            "padding", "padding-left", "padding-right", "padding-top", "padding-bottom")


def wide_margin(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks margins or padding over 20% of the maximum content width.

    Why is this bad: Amazon forbids wide margins that squeeze the text. Shorthand values
    (`margin: 0 150px`) are checked value by value.

    Example: `<div style="padding: 0 150px">` (600 px width: limit 120 px).
    Passes: `<div style="padding: 10px 20px">`.
    """
    limit = 0.2 * ctx.config.max_width_px
    for use in ctx.analysis.styles:
        if use.prop in _SPACING:
            for part in use.value.split():
                px = css_length_px(part, ctx.config.max_width_px)
                if px is not None and px > limit:
                    yield Finding(use.snippet, f"Margins and padding may be at most {limit:.0f} px "
                                               f"(20% of {ctx.config.max_width_px} px).")
                    return


_OVERRIDE_PROPS = {"line-height", "font-family", "color", "font", "face"}


def default_style_override(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks overriding Amazon's default line height, font family or font colour.

    Why is this bad: Amazon renders messages in its own style; inline `style` with line-height,
    font-family, font or color, `<font>` tags, `color` attributes and `<style>` blocks override it.

    Example: `<p style="font-family: Comic Sans MS">` or `<font color="red">`.
    Passes: `<p><strong>Delivery window:</strong> 9-12</p>`.
    """
    for use in ctx.analysis.styles:
        if use.prop in _OVERRIDE_PROPS:
            yield Finding(use.snippet, "Do not override Amazon's default font, colour or line height.")
            return
    if ctx.analysis.font_tags:
        yield Finding(ctx.analysis.font_tags[0], "Do not use <font> tags; Amazon sets the font.")
    elif ctx.analysis.style_blocks:
        yield Finding(f"<style>{ctx.analysis.style_blocks[0][:100]}", "Do not use <style> blocks; Amazon sets the style.")


def too_many_fonts(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks messages that use more than three fonts.

    Why is this bad: Amazon's guidelines allow at most three fonts. Each distinct first family
    of `font-family`/`font` declarations and `<font face>` counts.

    Example: Arial, Georgia, Verdana and Courier in one message.
    Passes: Arial only.
    """
    fonts = []
    for use in ctx.analysis.styles:
        if use.prop in ("font-family", "face"):
            family = use.value.split(",")[0].strip().strip("'\"")
            if family and family not in fonts:
                fonts.append(family)
    if len(fonts) > 3:
        yield Finding(", ".join(fonts), f"{len(fonts)} fonts are used; at most three are allowed.")


def text_alignment(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks centred body text and any other override of the default text alignment.

    Why is this bad: Amazon forbids changing the text alignment (`text-align`, `align`, `<center>`).
    Explicit left alignment is the default and passes.

    Example: `<p style="text-align: center">` or `<center>`.
    Passes: `<p style="text-align: left">`.
    """
    for use in ctx.analysis.styles:
        if use.prop in ("text-align", "align") and use.value not in ("left", "start", "initial", "inherit"):
            yield Finding(use.snippet, "Do not change the text alignment; Amazon's default is left-aligned.")
            return
    if ctx.analysis.center_tags:
        yield Finding("<center>", "Do not centre text; Amazon's default is left-aligned.")


_VAGUE_LINK_TEXT = {"click here", "here", "link", "more", "read more", "this link", "hier klicken", "hier",
                    "cliquez ici", "ici", "haga clic aquí", "haz clic aquí", "aquí", "clicca qui", "qui",
                    "こちら", "ここをクリック", "こちらをクリック"}


def accessibility(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks common accessibility (WCAG) problems in HTML messages.

    Why is this bad: Amazon requires messages to meet the Web Content Accessibility Guidelines.
    Checked: images without an `alt` attribute; links with no accessible text (no text, no alt of
    an image inside, no aria-label) or only "click here" (in the six languages); data tables
    (two or more rows and columns, not `role="presentation"`) without header cells.

    Example: `<img src="https://cdn.example.com/logo.png">`, `<a href="https://amazon.com/x">click here</a>`.
    Passes: `<img src="https://cdn.example.com/logo.png" alt="MyShop logo">`.
    """
    for image in ctx.analysis.images:
        if image.alt is None:
            yield Finding(f'<img src="{image.src[:150]}">', "Every image needs an alt text describing it.")
            break
    for link in ctx.analysis.links:
        if not link.from_html:
            continue
        accessible = link.text or link.aria_label or any(
            img.alt for img in ctx.analysis.images if img.link is link)
        if not accessible:
            yield Finding(f'<a href="{link.href[:150]}">', "Every link needs text that says where it leads.")
            break
        if link.text.strip().lower().rstrip(".!:") in _VAGUE_LINK_TEXT:
            yield Finding(link.text, "Link text must say where it leads, not just 'click here'.")
            break
    if ctx.analysis.data_tables_without_headers:
        yield Finding(ctx.analysis.data_tables_without_headers[0], "Data tables need header cells (<th>).")


_WORD_RUN = re.compile(r"\w+")
_WORD_RUN_TABLE = byte_table(re.compile(r"\w"))
_DOUBLED_WORD = re.compile(r"\b(\w{2,})\s+\1\b")  # on lower-cased text
_DOUBLED_OK = {"that", "had", "very", "sehr", "nous", "vous", "molto", "muy", "bye"}


def spelling_grammar(ctx: Context) -> Iterator[Finding]:
    """What it does: reports spelling and grammar errors (default `warn`).

    Why is this bad: Amazon asks for messages free of spelling and grammar errors. Product names
    and brands make full spell-checking noisy, so the check is narrow: doubled words ("the the")
    and common misspellings from the per-language lexicons. A seller may make it `block`.

    Example: "We will recieve the the parcel tomorrow."
    Passes: "We will receive the parcel tomorrow."
    """
    text = ctx.analysis.norm_text
    # A doubled word is two equal word runs with only white space between, so two equal
    # consecutive runs of `\w+` must exist: cheaper to check (8 us) than the back-reference (14 us).
    words = latin1_runs(text, _WORD_RUN_TABLE)
    if words is None:
        words = _WORD_RUN.findall(text)
    if not any(map(operator.eq, words, islice(words, 1, None))):
        doubled = None
    else:
        doubled = next((m for m in _DOUBLED_WORD.finditer(text) if m.group(1).lower() not in _DOUBLED_OK
                        and not m.group(1).isdigit()), None)
    if doubled:
        yield Finding(doubled.group(0), "A word is repeated; please proofread the message.")
        return
    misspelled = lexicons.search("misspelling", text)
    if misspelled:
        yield Finding(misspelled.group(0), "This looks misspelled; please proofread the message.")
