"""Content a permitted message may not contain (RULES.md section 4)."""
from __future__ import annotations

from collections.abc import Iterator

from ...config import host_matches
from ..model import Context, Finding

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
