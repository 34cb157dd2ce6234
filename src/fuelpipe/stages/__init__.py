"""The three stages: orchestrate (data_clustering), scrape (scraper), recheck (retry_recheck)."""
