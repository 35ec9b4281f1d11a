file(REMOVE_RECURSE
  "../../bin/det_native"
  "../../bin/det_native.pdb"
  "CMakeFiles/det_native.dir/det_native.c.o"
  "CMakeFiles/det_native.dir/det_native.c.o.d"
  "CMakeFiles/det_native.dir/det_scenario.c.o"
  "CMakeFiles/det_native.dir/det_scenario.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/det_native.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
