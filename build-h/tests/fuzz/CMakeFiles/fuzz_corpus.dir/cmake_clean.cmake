file(REMOVE_RECURSE
  "CMakeFiles/fuzz_corpus"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/fuzz_corpus.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
