# Empty dependencies file for tw_server_core.
# This may be replaced when dependencies are built.
