# Empty custom commands generated dependencies file for fuzz_corpus.
# This may be replaced when dependencies are built.
