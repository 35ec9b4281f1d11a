file(REMOVE_RECURSE
  "CMakeFiles/tickwire-server.dir/server/main.c.o"
  "CMakeFiles/tickwire-server.dir/server/main.c.o.d"
  "bin/tickwire-server"
  "bin/tickwire-server.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tickwire-server.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
