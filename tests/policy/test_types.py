import pytest

from tests.helpers import ORDER_ID, codes, delivered, order, request


def test_typ007_fires_on_second_review_request():
    assert "TYP007" in codes(request(contact_reason="review_request"), delivered(7, review_requests=1))


def test_typ007_fires_when_amazon_recorded_a_request():
    assert "TYP007" in codes(request(contact_reason="review_request"), delivered(7, review_requests=2))


def test_typ007_silent_on_first_review_request_and_other_reasons():
    assert "TYP007" not in codes(request(contact_reason="review_request"), delivered(7, review_requests=0))
    assert "TYP007" not in codes(request(contact_reason="invoice"), delivered(7, review_requests=1))



def text(body: str) -> dict:
    return request(contact_reason="review_request", body=f"Order {ORDER_ID}. {body}")


@pytest.mark.parametrize("body", [
    "Leave a review and we will send you a $10 gift card.",
    "Für Ihre Bewertung schenken wir Ihnen einen Gutschein über 5 Euro.",
    "Recevez un remboursement intégral en échange d'un avis.",
    "Le enviaremos un cupón de descuento por su reseña.",
    "Riceverai uno sconto del 20% se lasci una recensione.",
    "レビューを書いていただくとギフト券をプレゼントします。",
])
def test_typ004_fires_on_review_incentives(body):
    assert "TYP004" in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", [
    "We are sending you a free replacement for the broken mug. If you have a moment, a review would help.",
    "Your invoice shows a 10% discount. We would appreciate your feedback on Amazon.",
    "Wir senden Ihnen kostenlos Ersatz. Über eine Bewertung würden wir uns freuen.",
])
def test_typ004_silent_on_legitimate_messages(body):
    assert "TYP004" not in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", [
    "Could you please remove your negative feedback?",
    "Bitte ändern Sie Ihre Bewertung, das Problem ist gelöst.",
    "Pourriez-vous modifier votre avis ?",
    "¿Podría eliminar su reseña?",
    "レビューの削除をお願いします。",
])
def test_typ005_fires_on_review_change_requests(body):
    assert "TYP005" in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", ["Thank you for your review last week; we fixed the lid.",
                                  "We updated the product manual, attached."])
def test_typ005_silent_on_legitimate_messages(body):
    assert "TYP005" not in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", [
    "Please cancel the order from your side.",
    "Veuillez annuler votre commande, l'article est épuisé.",
    "Por favor, solicite la cancelación del pedido.",
    "Per favore, potrebbe annullare l'ordine?",
    "Bitte stornieren Sie die Bestellung über Ihr Konto.",
])
def test_typ008_fires_on_cancellation_requests(body):
    assert "TYP008" in codes(request(contact_reason="order_issue", body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", [
    "We had to cancel the order because the item is out of stock; you have been refunded in full.",
    "Your order was cancelled by Amazon and the amount adjusted.",
])
def test_typ008_silent_on_seller_side_cancellation(body):
    assert "TYP008" not in codes(request(contact_reason="order_issue", body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", [
    "We can refund you via P.a.y.P.a.l right away.",
    "Bitte per Überweisung an unser Konto zahlen.",
    "Paiement par virement bancaire possible.",
    "Puede pagar por transferencia bancaria.",
    "お支払いは銀行振込でお願いします。",
])
def test_typ009_fires_on_off_platform_payment(body):
    assert "TYP009" in codes(request(contact_reason="order_issue", body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", ["Your refund has been issued through Amazon and appears in 3-5 days.",
                                  "Die Erstattung erfolgt über Amazon."])
def test_typ009_silent_on_amazon_refunds(body):
    assert "TYP009" not in codes(request(contact_reason="order_issue", body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", [
    "Your order has been shipped! Your tracking number is 1Z999AA10123456784.",
    "Ihre Bestellung wurde heute versandt.",
    "Votre colis est en route.",
    "Hemos recibido su pedido.",
    "ご注文の商品を発送しました。",
])
def test_typ001_fires_on_confirmations(body):
    assert "TYP001" in codes(request(contact_reason="other_purchase_related", body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", ["Your order will ship two days later than promised; we apologise.",
                                  "Die Lieferung verzögert sich um zwei Tage."])
def test_typ001_silent_on_delay_notices(body):
    assert "TYP001" not in codes(request(body=f"Order {ORDER_ID}. {body}"), order())


@pytest.mark.parametrize("body", [
    "If you are happy, please leave us a 5-star review!",
    "Wenn Sie zufrieden sind, freuen wir uns über eine positive Bewertung.",
    "Si vous êtes satisfait, laissez-nous un avis.",
    "If you are not satisfied, contact us first before leaving a review.",
    "高評価をお願いします。",
])
def test_typ006_fires_on_manipulation(body):
    assert "TYP006" in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", ["We would appreciate your honest review of the product.",
                                  "Über eine ehrliche Bewertung würden wir uns freuen."])
def test_typ006_silent_on_neutral_requests(body):
    assert "TYP006" not in codes(text(body), delivered(7))


@pytest.mark.parametrize("body", [
    "Use discount code SAVE10 on your next order!",
    "Folgen Sie uns auf Instagram.",
    "Découvrez notre nouvelle collection.",
    "Usa el código de descuento VERANO en tu próxima compra.",
    "Seguici su Facebook per il codice sconto.",
    "新商品のお知らせです。",
])
def test_typ003_fires_on_marketing(body):
    assert "TYP003" in codes(request(contact_reason="invoice", body=f"Order {ORDER_ID}. {body}"), delivered(3))


@pytest.mark.parametrize("body", ["Invoice attached: Mug 12.00, discount -2.00, total 10.00.",
                                  "Rechnung anbei; der Rabatt von 2 Euro ist bereits abgezogen."])
def test_typ003_silent_on_invoice_discount_lines(body):
    assert "TYP003" not in codes(request(contact_reason="invoice", body=f"Order {ORDER_ID}. {body}"), delivered(3))


@pytest.mark.parametrize("body", [
    f"Hello John, thank you for your order {ORDER_ID}! If you have any questions, let us know. Best regards",
    f"Guten Tag, vielen Dank für Ihre Bestellung {ORDER_ID}. Bei Fragen stehen wir Ihnen gerne zur Verfügung. Mit freundlichen Grüßen",
    f"Bonjour, merci pour votre commande {ORDER_ID} ! Cordialement",
    f"ご注文 {ORDER_ID} ありがとうございます。ご不明な点はお気軽にお問い合わせください。",
])
def test_typ002_fires_on_thank_you_only(body):
    assert "TYP002" in codes(request(contact_reason="other_purchase_related", body=body), order())


@pytest.mark.parametrize("body", [
    f"Thank you for your order {ORDER_ID}. The sofa will arrive on Tuesday between 9 and 12.",
    f"Vielen Dank für Ihre Bestellung {ORDER_ID}. Wir benötigen Ihre Etage für die Lieferung des Sofas.",
    f"Hello, order {ORDER_ID} will arrive two days late. Sorry for the delay. Best regards",
])
def test_typ002_silent_when_the_message_has_substance(body):
    assert "TYP002" not in codes(request(contact_reason="other_purchase_related", body=body), order())
