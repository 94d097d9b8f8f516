"""The member-only marketplace: listings, declarations and consents, offers, approvals,
registration (issue 12). It calls the registry's services; the registry never imports it."""
