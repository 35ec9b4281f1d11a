# Empty dependencies file for test_bots_unit.
# This may be replaced when dependencies are built.
