file(REMOVE_RECURSE
  "CMakeFiles/tw_test_common.dir/check.c.o"
  "CMakeFiles/tw_test_common.dir/check.c.o.d"
  "CMakeFiles/tw_test_common.dir/promtext.c.o"
  "CMakeFiles/tw_test_common.dir/promtext.c.o.d"
  "CMakeFiles/tw_test_common.dir/spawn.c.o"
  "CMakeFiles/tw_test_common.dir/spawn.c.o.d"
  "libtw_test_common.a"
  "libtw_test_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tw_test_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
