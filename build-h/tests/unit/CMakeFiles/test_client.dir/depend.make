# Empty dependencies file for test_client.
# This may be replaced when dependencies are built.
