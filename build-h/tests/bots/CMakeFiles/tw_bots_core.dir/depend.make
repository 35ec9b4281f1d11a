# Empty dependencies file for tw_bots_core.
# This may be replaced when dependencies are built.
