"""Bulk import and export of the county's confirmation (确权) data: stage, validate, promote."""
