def make(collective_id: int, ctx: dict) -> dict:
    """Create this area's objects in the collective; return {url argument: value}."""
    return {}
