"""Deliveries: validating records (CONTRACTS §1), writing them, reading them back."""
