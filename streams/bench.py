"""`msggate bench engine`: the policy engine alone over a generated, realistic mix."""
from __future__ import annotations

import random
import sys
import time

import orjson

from .config import SellerConfig
from .policy.engine import evaluate, warm_up

_TEXTS = {
    "en": "Hello, this is about your order {oid}. The sofa is ready and we need to schedule the delivery. "
          "Which weekday between 9 and 12 suits you? Our carrier will call on the day. Kind regards",
    "de": "Guten Tag, es geht um Ihre Bestellung {oid}. Das Sofa ist bereit und wir müssen die Lieferung planen. "
          "Welcher Wochentag zwischen 9 und 12 Uhr passt Ihnen? Mit freundlichen Grüßen",
    "fr": "Bonjour, il s'agit de votre commande {oid}. Le canapé est prêt et nous devons planifier la livraison. "
          "Quel jour de semaine entre 9 h et 12 h vous convient ? Cordialement",
    "es": "Hola, le escribimos sobre su pedido {oid}. El sofá está listo y necesitamos programar la entrega. "
          "¿Qué día laborable entre las 9 y las 12 le viene bien? Saludos cordiales",
    "it": "Buongiorno, le scriviamo per il suo ordine {oid}. Il divano è pronto e dobbiamo programmare la consegna. "
          "Quale giorno feriale tra le 9 e le 12 le va bene? Cordiali saluti",
    "ja": "ご注文 {oid} についてご連絡いたします。ソファの配送日を調整させてください。平日の9時から12時の間でご都合のよい日をお知らせください。",
}
_VIOLATIONS = [" Leave a review and get a $10 gift card!", " Call us: +49 30 1234567.",
               " Visit www.myshop.com for deals.", " Please pay by bank transfer."]


def generate(count: int, seed: int = 7) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    items = []
    for n in range(count):
        oid = f"{rng.randint(100, 999)}-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(10**6, 10**7 - 1)}"
        lang = rng.choice(list(_TEXTS))
        body = _TEXTS[lang].format(oid=oid)
        if rng.random() < 0.1:
            body += rng.choice(_VIOLATIONS)
        html = rng.random() < 0.5
        if html:
            body = ("<html><body><p>" + body.replace(". ", ".</p><p>") + "</p>"
                    '<p><img src="https://cdn.brand.example/logo.png" width="120" alt="Brand logo"></p>'
                    '<p><a href="https://www.amazon.com/gp/css/order-history">Your orders on Amazon</a></p>'
                    "</body></html>")
        request = {"message_id": f"bench-{n}", "seller_id": f"S{n % 50}", "marketplace_id": "ATVPDKIKX0DER",
                   "order_id": oid, "contact_reason": "heavy_bulky_delivery", "subject": f"Delivery of order {oid}",
                   "body": body, "body_format": "html" if html else "text", "requested_at": "2026-11-10T10:00:00Z"}
        order = {"order_id": oid, "seller_id": request["seller_id"], "status": "shipped", "buyer_locale": f"{lang}_XX",
                 "delivered_at": None, "review_requests": 0, "buyer_opted_out": False, "items": []}
        items.append((request, order))
    return items


def bench_engine(count: int, json_out: str | None) -> int:
    config = SellerConfig()
    mix = generate(count)
    print(f"bench engine: {count} messages (text and HTML, 6 languages, ~10% violating) ...", file=sys.stderr)
    # What a worker does once at start (warm_up in the worker too) is reported, not averaged in:
    # ~1.3 s spread over 10,000 messages would add ~130 us to each.
    warm_started = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - warm_started
    print(f"  warm-up (prefilter, language model, emoji data): {warm_up_s:.2f} s", file=sys.stderr)
    timings = []
    blocked = 0
    started = time.perf_counter()
    for i, (request, order) in enumerate(mix, 1):
        t0 = time.perf_counter()
        decision = evaluate(request, order, config)
        timings.append(time.perf_counter() - t0)
        blocked += decision["route"] == "blocked"
        if i % max(1, count // 5) == 0:
            print(f"  {i}/{count}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    timings.sort()
    result = {"bench": "engine", "messages": count, "blocked": blocked, "msgs_per_s": round(count / elapsed),
              "p50_us": round(timings[len(timings) // 2] * 1e6), "p99_us": round(timings[int(len(timings) * 0.99)] * 1e6),
              "warm_up_s": round(warm_up_s, 2)}
    if json_out:
        with open(json_out, "wb") as handle:
            handle.write(orjson.dumps(result))
    print(f"bench engine: msgs_per_s={result['msgs_per_s']} p50_us={result['p50_us']} p99_us={result['p99_us']} "
          f"blocked={blocked} warm_up_s={result['warm_up_s']}")
    return 0
