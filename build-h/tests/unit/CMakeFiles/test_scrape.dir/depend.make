# Empty dependencies file for test_scrape.
# This may be replaced when dependencies are built.
