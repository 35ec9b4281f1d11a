# Empty dependencies file for test_lobby.
# This may be replaced when dependencies are built.
