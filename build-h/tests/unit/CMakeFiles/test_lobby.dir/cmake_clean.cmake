file(REMOVE_RECURSE
  "../../bin/test_lobby"
  "../../bin/test_lobby.pdb"
  "CMakeFiles/test_lobby.dir/test_lobby.c.o"
  "CMakeFiles/test_lobby.dir/test_lobby.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_lobby.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
