# Empty dependencies file for tw_test_common.
# This may be replaced when dependencies are built.
