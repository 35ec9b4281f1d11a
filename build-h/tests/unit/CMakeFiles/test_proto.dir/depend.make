# Empty dependencies file for test_proto.
# This may be replaced when dependencies are built.
