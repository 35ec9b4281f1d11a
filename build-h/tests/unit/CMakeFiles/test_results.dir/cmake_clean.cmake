file(REMOVE_RECURSE
  "../../bin/test_results"
  "../../bin/test_results.pdb"
  "CMakeFiles/test_results.dir/test_results.c.o"
  "CMakeFiles/test_results.dir/test_results.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_results.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
