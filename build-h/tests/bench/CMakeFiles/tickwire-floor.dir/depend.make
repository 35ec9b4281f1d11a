# Empty dependencies file for tickwire-floor.
# This may be replaced when dependencies are built.
