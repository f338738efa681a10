"""The odontogram pages (being built for the chart issue)."""


def register(admin):
    pass
