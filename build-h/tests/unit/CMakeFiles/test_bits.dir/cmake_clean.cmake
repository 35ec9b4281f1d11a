file(REMOVE_RECURSE
  "../../bin/test_bits"
  "../../bin/test_bits.pdb"
  "CMakeFiles/test_bits.dir/test_bits.c.o"
  "CMakeFiles/test_bits.dir/test_bits.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_bits.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
