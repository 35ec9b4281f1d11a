file(REMOVE_RECURSE
  "../../bin/test_replay"
  "../../bin/test_replay.pdb"
  "CMakeFiles/test_replay.dir/__/__/server/replay.c.o"
  "CMakeFiles/test_replay.dir/__/__/server/replay.c.o.d"
  "CMakeFiles/test_replay.dir/test_replay.c.o"
  "CMakeFiles/test_replay.dir/test_replay.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_replay.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
