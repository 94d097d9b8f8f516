"""Leases of the land-management right (土地经营权流转, R05): a layer on a household's contract."""
