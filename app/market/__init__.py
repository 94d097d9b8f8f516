"""The member-only marketplace: offers, deals and their registration. Empty for now."""
