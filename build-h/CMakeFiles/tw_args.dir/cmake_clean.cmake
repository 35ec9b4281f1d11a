file(REMOVE_RECURSE
  "CMakeFiles/tw_args.dir/server/parse.c.o"
  "CMakeFiles/tw_args.dir/server/parse.c.o.d"
  "CMakeFiles/tw_args.dir/server/secret.c.o"
  "CMakeFiles/tw_args.dir/server/secret.c.o.d"
  "libtw_args.a"
  "libtw_args.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tw_args.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
