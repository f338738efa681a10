"""The owner's figures: each figure defined once (``definitions``), read by
the report screens, the owner's home page, the exports and the API."""
