"""The patient card page (being built for the chart issue)."""


def register(admin):
    pass
