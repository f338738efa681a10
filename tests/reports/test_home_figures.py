"""The owner's home page keeps its figures for HOME_FIGURES_SECONDS and says
as of when they are; with 0 every load computes them."""
from decimal import Decimal

import lxml.html

from stompro.billing.models import Payment
from stompro.db import utcnow
from stompro.extensions import db

from ..conftest import CENTER, clinic


def collections_card(client):
    page = lxml.html.fromstring(client.get("/admin/").get_data(as_text=True))
    [card] = page.xpath('//a[@data-figure="collections"]')
    return card.xpath('.//div[contains(@class, "h4")]')[0].text_content().strip(), page


def test_the_figures_are_kept_for_a_while_and_say_since_when(app, client, auth, patient):
    auth.as_role("owner")
    app.config["HOME_FIGURES_SECONDS"] = 300
    try:
        before, page = collections_card(client)
        assert page.xpath("//*[@data-figures-as-of]")[0].text_content().startswith("Figures as of ")
        db.session.add(Payment(patient=patient, clinic=clinic(CENTER), method="cash", amount=Decimal("12345.00"),
                               paid_at=utcnow()))
        db.session.commit()
        assert collections_card(client)[0] == before  # kept
        app.config["HOME_FIGURES_SECONDS"] = 0
        after = collections_card(client)[0]
    finally:
        app.config["HOME_FIGURES_SECONDS"] = 0
    amount = lambda text: Decimal(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))
    assert amount(after) - amount(before) == Decimal("12345.00")
