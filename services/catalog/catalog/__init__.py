"""Catalog service: markets, stalls, vendors, products, daily prices, RW hubs and stock reservations."""
