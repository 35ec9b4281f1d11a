# Empty compiler generated dependencies file for fuzz_gen_corpus.
# This may be replaced when dependencies are built.
