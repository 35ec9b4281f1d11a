file(REMOVE_RECURSE
  "../../bin/test_metrics"
  "../../bin/test_metrics.pdb"
  "CMakeFiles/test_metrics.dir/test_metrics.c.o"
  "CMakeFiles/test_metrics.dir/test_metrics.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_metrics.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
