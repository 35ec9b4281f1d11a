file(REMOVE_RECURSE
  "CMakeFiles/tw_shared.dir/shared/bits.c.o"
  "CMakeFiles/tw_shared.dir/shared/bits.c.o.d"
  "CMakeFiles/tw_shared.dir/shared/client.c.o"
  "CMakeFiles/tw_shared.dir/shared/client.c.o.d"
  "CMakeFiles/tw_shared.dir/shared/proto.c.o"
  "CMakeFiles/tw_shared.dir/shared/proto.c.o.d"
  "CMakeFiles/tw_shared.dir/shared/sim.c.o"
  "CMakeFiles/tw_shared.dir/shared/sim.c.o.d"
  "CMakeFiles/tw_shared.dir/shared/token.c.o"
  "CMakeFiles/tw_shared.dir/shared/token.c.o.d"
  "libtw_shared.a"
  "libtw_shared.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tw_shared.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
