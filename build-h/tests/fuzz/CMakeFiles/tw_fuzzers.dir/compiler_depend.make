# Empty custom commands generated dependencies file for tw_fuzzers.
# This may be replaced when dependencies are built.
