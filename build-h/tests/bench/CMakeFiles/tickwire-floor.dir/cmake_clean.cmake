file(REMOVE_RECURSE
  "../../bin/tickwire-floor"
  "../../bin/tickwire-floor.pdb"
  "CMakeFiles/tickwire-floor.dir/floor_server.c.o"
  "CMakeFiles/tickwire-floor.dir/floor_server.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tickwire-floor.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
