file(REMOVE_RECURSE
  "../../bin/test_session"
  "../../bin/test_session.pdb"
  "CMakeFiles/test_session.dir/test_session.c.o"
  "CMakeFiles/test_session.dir/test_session.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_session.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
