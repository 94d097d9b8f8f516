"""The member-only marketplace (issue 12): listings, declarations and consents, offers,
approvals, the deal. It calls the registry's services; the registry never imports it."""
