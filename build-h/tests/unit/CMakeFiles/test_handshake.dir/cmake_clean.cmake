file(REMOVE_RECURSE
  "../../bin/test_handshake"
  "../../bin/test_handshake.pdb"
  "CMakeFiles/test_handshake.dir/test_handshake.c.o"
  "CMakeFiles/test_handshake.dir/test_handshake.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_handshake.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
