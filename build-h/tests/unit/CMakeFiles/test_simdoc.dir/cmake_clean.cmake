file(REMOVE_RECURSE
  "../../bin/test_simdoc"
  "../../bin/test_simdoc.pdb"
  "CMakeFiles/test_simdoc.dir/test_simdoc.c.o"
  "CMakeFiles/test_simdoc.dir/test_simdoc.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_simdoc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
