# Empty custom commands generated dependencies file for tw_version.
# This may be replaced when dependencies are built.
