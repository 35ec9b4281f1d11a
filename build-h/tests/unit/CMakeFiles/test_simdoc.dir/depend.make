# Empty dependencies file for test_simdoc.
# This may be replaced when dependencies are built.
