"""Pages of the dashboard. A message body is hostile input: everything is escaped, and the
original message is shown through a sanitised copy under a Content-Security-Policy that allows
no script and no remote load, so a miss in one layer is caught by the other."""
from __future__ import annotations

import html
from urllib.parse import urlsplit

from lxml import etree

# The detail page: no script at all, images only as data: URIs (remote images would tell the
# sender that someone opened the message), inline styles of the message allowed.
DETAIL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
# The live page: its own script file and JSON API only.
DASHBOARD_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
                 "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

_DROP = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "meta", "base", "form",
         "input", "button", "textarea", "select", "noscript", "template", "svg", "math", "audio", "video", "source"}
_PARSER = etree.HTMLParser(recover=True, remove_comments=True)

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0} header a{color:#9cc3ff}
main{padding:16px 20px} .cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border-radius:6px;padding:10px 14px;min-width:150px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:24px} .approved b{color:#137333} .blocked b{color:#b3261e}
.needs_important b{color:#a15c00} .dead b{color:#555}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:8px}
th,td{border-bottom:1px solid #e3e5e8;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eceef1} code{background:#eef;padding:0 3px;border-radius:3px}
.cols{display:flex;gap:20px;flex-wrap:wrap} .cols section{flex:1;min-width:260px}
.filters input{padding:4px;margin-right:6px} .muted{color:#666} .ev{font-family:monospace;color:#7a1f1f}
.message{background:#fff;border:1px solid #ccd;padding:12px;max-width:760px;overflow:auto}
"""


def sanitise_html(body: str) -> str:
    """The message HTML without active content: scripts, frames, forms and event handlers go,
    links are disarmed (href kept in the title), remote images become a visible placeholder."""
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        return f"<pre>{html.escape(body)}</pre>"
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in _DROP:
            parent = element.getparent()
            if parent is not None:
                tail, previous = element.tail, element.getprevious()
                parent.remove(element)
                if tail:   # keep the text that followed the dropped element, where it was
                    if previous is not None:
                        previous.tail = (previous.tail or "") + tail
                    else:
                        parent.text = (parent.text or "") + tail
            continue
        for name in list(element.attrib):
            value = element.attrib[name]
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ("srcset", "formaction", "background", "ping", "poster") \
                    or "javascript:" in value.lower().replace(" ", "") or "expression(" in value.lower():
                del element.attrib[name]
        if tag == "a" and "href" in element.attrib:
            element.attrib["title"] = element.attrib.pop("href")
        if tag == "img":
            src = element.attrib.pop("src", "")
            if src.startswith("data:image/"):
                element.attrib["src"] = src
            else:
                element.tag = "span"
                host = urlsplit(src).hostname or src[:60]
                element.text = f"[remote image not loaded: {host}; alt: {element.attrib.get('alt', '')!s}]"
                element.attrib.clear()
                element.attrib["class"] = "muted"
    body_el = root.find(".//body")
    parts = body_el if body_el is not None else root
    text = (parts.text or "") if body_el is not None else ""
    return html.escape(text) + "".join(etree.tostring(child, method="html", encoding="unicode") for child in parts)


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def detail_page(decision: dict) -> str:
    request = decision.get("request") or {}
    findings = "".join(
        f"<tr><td><code>{_e(f.get('code'))}</code> {_e(f.get('name'))}</td><td>{_e(f.get('action'))}</td>"
        f"<td class=ev>{_e(f.get('evidence'))}</td><td>{_e(f.get('detail'))}</td></tr>"
        for f in decision.get("violations", []) + decision.get("warnings", []))
    if request.get("body_format") == "html":
        message = sanitise_html(request.get("body", ""))
    else:
        message = f"<pre style='white-space:pre-wrap'>{_e(request.get('body'))}</pre>"
    attachments = "".join(f"<li>{_e(a.get('filename'))} ({_e(a.get('kind'))}, {_e(a.get('size_bytes'))} bytes)</li>"
                          for a in request.get("attachments") or [])
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in (
        ("route", decision.get("route")), ("message_id", decision.get("message_id")),
        ("order_id", decision.get("order_id")), ("seller_id", decision.get("seller_id")),
        ("marketplace_id", request.get("marketplace_id")), ("contact_reason", request.get("contact_reason")),
        ("critical", decision.get("critical")), ("retryable", decision.get("retryable")),
        ("suggested_subject", decision.get("suggested_subject")), ("decided_at", decision.get("decided_at")),
        ("policy_version", decision.get("policy_version")), ("subject", request.get("subject"))))
    return (f"<!doctype html><html><head><meta charset=utf-8><title>msggate: {_e(decision.get('message_id'))}</title>"
            f"<style>{STYLE}</style></head><body><header><h1>Decision {_e(decision.get('message_id'))}</h1>"
            f"<a href='/'>back to the dashboard</a></header><main>"
            f"<table id=decision>{rows}</table><h2>Findings</h2><table id=findings><tr><th>rule</th><th>action</th>"
            f"<th>evidence</th><th>detail</th></tr>{findings}</table>"
            f"<h2>Original message</h2><p class=muted>Rendered without scripts, links or remote images.</p>"
            f"<div class=message id=message>{message}</div>"
            + (f"<h3>Attachments</h3><ul>{attachments}</ul>" if attachments else "")
            + "</main></body></html>")


def dashboard_page(web_port: int | None = None) -> str:
    return f"""<!doctype html><html><head><meta charset=utf-8><title>msggate dashboard</title>
<style>{STYLE}</style></head><body>
<header><h1>msggate</h1><span>live decisions</span><span class=muted id=since></span>
<a href="/metrics">metrics</a></header>
<main>
<div class=cards>
 <div class="card approved">approved<b id=count-approved>0</b><span id=rate-approved>0</span>/s</div>
 <div class="card blocked">blocked<b id=count-blocked>0</b><span id=rate-blocked>0</span>/s</div>
 <div class="card needs_important">needs important<b id=count-needs_important>0</b><span id=rate-needs_important>0</span>/s</div>
 <div class="card dead">dead-letter<b id=count-dead>0</b><span id=rate-dead>0</span>/s</div>
</div>
<div class=cols>
 <section><h2>Top rule codes</h2><table id=codes></table></section>
 <section><h2>Sellers with most blocked</h2><table id=sellers></table></section>
 <section><h2>Latest dead letters</h2><table id=dead></table></section>
</div>
<h2>Latest blocked and needs-important messages</h2>
<div class=filters>
 <input id=f-seller placeholder="seller_id"><input id=f-marketplace placeholder="marketplace_id">
 <input id=f-code placeholder="rule code, e.g. TYP004"><span class=muted id=status></span>
</div>
<table id=decisions><thead><tr><th>message</th><th>decided</th><th>route</th><th>seller</th><th>marketplace</th>
<th>order</th><th>codes</th><th>evidence and detail</th></tr></thead><tbody></tbody></table>
</main><script src="/dashboard.js"></script></body></html>"""


# Renders with textContent only: nothing from a record is ever parsed as HTML.
DASHBOARD_JS = r"""
"use strict";
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function rows(table, items, cells) {
  table.replaceChildren(...items.map(item => { const tr = el("tr"); cells(item).forEach(c => tr.append(typeof c === "string" ? el("td", c) : c)); return tr; }));
}
async function refresh() {
  const q = new URLSearchParams();
  for (const k of ["seller", "marketplace", "code"]) { const v = document.getElementById("f-" + k).value.trim(); if (v) q.set(k, v); }
  try {
    const [summary, decisions] = await Promise.all([
      fetch("/api/summary").then(r => r.json()), fetch("/api/decisions?" + q).then(r => r.json())]);
    for (const route of ["approved", "blocked", "needs_important"]) {
      document.getElementById("count-" + route).textContent = summary.routes[route];
      document.getElementById("rate-" + route).textContent = summary.per_second[route];
    }
    document.getElementById("count-dead").textContent = summary.dead_letters;
    document.getElementById("rate-dead").textContent = summary.per_second.dead_letter;
    document.getElementById("since").textContent = "since " + summary.since;
    rows(document.getElementById("codes"), summary.top_codes, c => [c.code, String(c.count)]);
    rows(document.getElementById("sellers"), summary.top_blocked_sellers, s => [s.seller_id, String(s.blocked)]);
    rows(document.getElementById("dead"), summary.recent_dead_letters, d => [d.kind || "", d.reason || ""]);
    const body = document.querySelector("#decisions tbody");
    rows(body, decisions, d => {
      const link = el("td"); const a = el("a", d.message_id); a.href = "/decision/" + encodeURIComponent(d.message_id); link.append(a);
      const findings = el("td"); d.findings.forEach(f => { const p = el("div"); p.append(el("code", f.code), " ", el("span", f.evidence, "ev"), " — ", el("span", f.detail)); findings.append(p); });
      return [link, d.decided_at || "", d.route, d.seller_id, d.marketplace_id || "", d.order_id, d.codes.join(" "), findings];
    });
    document.getElementById("status").textContent = decisions.length + " shown, updated " + new Date().toLocaleTimeString();
  } catch (err) { document.getElementById("status").textContent = "update failed: " + err; }
}
refresh(); setInterval(refresh, 2000);
"""
