"""Leases (出租, 流转) of contracted land and homesteads, and their terms. Empty for now."""
