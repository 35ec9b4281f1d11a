# Empty dependencies file for test_results.
# This may be replaced when dependencies are built.
