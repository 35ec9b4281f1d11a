file(REMOVE_RECURSE
  "../../bin/test_client"
  "../../bin/test_client.pdb"
  "CMakeFiles/test_client.dir/test_client.c.o"
  "CMakeFiles/test_client.dir/test_client.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_client.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
