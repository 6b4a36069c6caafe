"""Browser tests: a real Chromium (Playwright) against the app served by waitress with a live timer scheduler."""
