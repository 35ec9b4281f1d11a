file(REMOVE_RECURSE
  "../../bin/test_bots_unit"
  "../../bin/test_bots_unit.pdb"
  "CMakeFiles/test_bots_unit.dir/test_bots_unit.c.o"
  "CMakeFiles/test_bots_unit.dir/test_bots_unit.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_bots_unit.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
