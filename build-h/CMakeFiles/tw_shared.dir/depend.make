# Empty dependencies file for tw_shared.
# This may be replaced when dependencies are built.
