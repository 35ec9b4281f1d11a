file(REMOVE_RECURSE
  "../../bin/test_sim"
  "../../bin/test_sim.pdb"
  "CMakeFiles/test_sim.dir/test_sim.c.o"
  "CMakeFiles/test_sim.dir/test_sim.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_sim.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
