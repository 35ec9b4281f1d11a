# Empty dependencies file for test_urls.
# This may be replaced when dependencies are built.
