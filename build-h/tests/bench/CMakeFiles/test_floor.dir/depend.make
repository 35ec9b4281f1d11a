# Empty dependencies file for test_floor.
# This may be replaced when dependencies are built.
