"""One adapter per HTTP source."""
