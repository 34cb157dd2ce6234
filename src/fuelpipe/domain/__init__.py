"""Pure domain: catalog, keys, calendars, gaps, streams, retry policy and the Student t
distribution the analyses share. No I/O, no clock reads."""
