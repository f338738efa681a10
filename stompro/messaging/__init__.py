"""Messages to patients: the outbox, its templates and the gateways that send them."""
