"""Style that is prohibited (RULES.md section 5)."""
from __future__ import annotations

from collections.abc import Iterator

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
