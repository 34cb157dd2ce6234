"""Pure domain: catalog, keys, calendars, gaps, streams and retry policy. No I/O, no clock reads."""
