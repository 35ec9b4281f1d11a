# Empty dependencies file for test_handshake.
# This may be replaced when dependencies are built.
