"""Case files, evidence and custody, exports, watchlists, sponsor reports (investigations issue)."""
