# Empty dependencies file for tickwire-server.
# This may be replaced when dependencies are built.
