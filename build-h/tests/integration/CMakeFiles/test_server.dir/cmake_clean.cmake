file(REMOVE_RECURSE
  "../../bin/test_server"
  "../../bin/test_server.pdb"
  "CMakeFiles/test_server.dir/test_server.c.o"
  "CMakeFiles/test_server.dir/test_server.c.o.d"
  "CMakeFiles/test_server.dir/wsclient.c.o"
  "CMakeFiles/test_server.dir/wsclient.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_server.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
