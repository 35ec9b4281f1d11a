# Empty dependencies file for tw_args.
# This may be replaced when dependencies are built.
