"""Orders service: checkout, the order process manager (saga), vendor preparation and pickup."""
