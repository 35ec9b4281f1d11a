# Empty dependencies file for det_native.
# This may be replaced when dependencies are built.
