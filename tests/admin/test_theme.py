"""Every stylesheet of the panel comes from the panel itself: a clinic
without the internet gets its pages without waiting for a font server."""
import re


def test_the_pages_stylesheets_are_all_served_by_the_panel(client, auth):
    auth.as_role("coordinator")
    page = client.get("/admin/patient/")
    assert page.status_code == 200
    stylesheets = re.findall(r'<link href="([^"]+)" rel="stylesheet"', page.get_data(as_text=True))
    assert any("/theme/bootstrap.css" in href for href in stylesheets)
    for href in stylesheets:
        assert href.startswith("/"), href
        css = client.get(href)
        assert css.status_code == 200, href
        assert not re.search(rb"@import\s+url\(\s*['\"]?https?:", css.data), href
    theme = client.get("/theme/bootstrap.css")
    assert theme.mimetype == "text/css" and b".btn-primary" in theme.data and b"Lato" in theme.data
