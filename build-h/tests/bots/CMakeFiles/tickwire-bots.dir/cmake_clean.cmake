file(REMOVE_RECURSE
  "../../bin/tickwire-bots"
  "../../bin/tickwire-bots.pdb"
  "CMakeFiles/tickwire-bots.dir/bots_main.c.o"
  "CMakeFiles/tickwire-bots.dir/bots_main.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tickwire-bots.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
