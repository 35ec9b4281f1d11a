file(REMOVE_RECURSE
  "../../bin/test_floor"
  "../../bin/test_floor.pdb"
  "CMakeFiles/test_floor.dir/__/integration/wsclient.c.o"
  "CMakeFiles/test_floor.dir/__/integration/wsclient.c.o.d"
  "CMakeFiles/test_floor.dir/test_floor.c.o"
  "CMakeFiles/test_floor.dir/test_floor.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_floor.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
