# Empty dependencies file for tickwire-bots.
# This may be replaced when dependencies are built.
