file(REMOVE_RECURSE
  "../../bin/test_match"
  "../../bin/test_match.pdb"
  "CMakeFiles/test_match.dir/test_match.c.o"
  "CMakeFiles/test_match.dir/test_match.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_match.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
