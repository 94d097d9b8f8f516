"""Oversight (监管): the county bureau's and the auditors' view across the settlement desk, the
marketplace and the registry — R14's village exit shares (``village.py``), the one R14 flagger
the marketplace is given at app creation (``flags.py``), and what the reports read.

Layer: above ``app.imports``, ``app.market`` and ``app.settlement`` (it reads all three), below
the entry points ``app.api``, ``app.main`` and ``app.demo``. Settlement and the marketplace never
import it (R12: they still never import each other); ``create_app`` wires its flagger into the
marketplace. It writes nothing.
"""
