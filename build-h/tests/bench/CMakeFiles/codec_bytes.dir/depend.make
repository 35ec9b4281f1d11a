# Empty dependencies file for codec_bytes.
# This may be replaced when dependencies are built.
