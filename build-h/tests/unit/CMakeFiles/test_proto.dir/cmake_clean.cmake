file(REMOVE_RECURSE
  "../../bin/test_proto"
  "../../bin/test_proto.pdb"
  "CMakeFiles/test_proto.dir/test_proto.c.o"
  "CMakeFiles/test_proto.dir/test_proto.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_proto.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
