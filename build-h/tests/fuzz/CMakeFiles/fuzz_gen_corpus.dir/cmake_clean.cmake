file(REMOVE_RECURSE
  "../../bin/fuzz_gen_corpus"
  "../../bin/fuzz_gen_corpus.pdb"
  "CMakeFiles/fuzz_gen_corpus.dir/__/__/server/map.c.o"
  "CMakeFiles/fuzz_gen_corpus.dir/__/__/server/map.c.o.d"
  "CMakeFiles/fuzz_gen_corpus.dir/__/__/server/match.c.o"
  "CMakeFiles/fuzz_gen_corpus.dir/__/__/server/match.c.o.d"
  "CMakeFiles/fuzz_gen_corpus.dir/gen_corpus.c.o"
  "CMakeFiles/fuzz_gen_corpus.dir/gen_corpus.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_gen_corpus.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
