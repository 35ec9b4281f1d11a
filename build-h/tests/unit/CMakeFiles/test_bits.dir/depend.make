# Empty dependencies file for test_bits.
# This may be replaced when dependencies are built.
