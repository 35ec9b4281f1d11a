file(REMOVE_RECURSE
  "CMakeFiles/tw_bots_core.dir/auth.c.o"
  "CMakeFiles/tw_bots_core.dir/auth.c.o.d"
  "CMakeFiles/tw_bots_core.dir/behavior.c.o"
  "CMakeFiles/tw_bots_core.dir/behavior.c.o.d"
  "CMakeFiles/tw_bots_core.dir/delay.c.o"
  "CMakeFiles/tw_bots_core.dir/delay.c.o.d"
  "CMakeFiles/tw_bots_core.dir/hist.c.o"
  "CMakeFiles/tw_bots_core.dir/hist.c.o.d"
  "CMakeFiles/tw_bots_core.dir/http.c.o"
  "CMakeFiles/tw_bots_core.dir/http.c.o.d"
  "CMakeFiles/tw_bots_core.dir/opts.c.o"
  "CMakeFiles/tw_bots_core.dir/opts.c.o.d"
  "CMakeFiles/tw_bots_core.dir/prom.c.o"
  "CMakeFiles/tw_bots_core.dir/prom.c.o.d"
  "CMakeFiles/tw_bots_core.dir/report.c.o"
  "CMakeFiles/tw_bots_core.dir/report.c.o.d"
  "CMakeFiles/tw_bots_core.dir/swarm.c.o"
  "CMakeFiles/tw_bots_core.dir/swarm.c.o.d"
  "CMakeFiles/tw_bots_core.dir/verdict.c.o"
  "CMakeFiles/tw_bots_core.dir/verdict.c.o.d"
  "libtw_bots_core.a"
  "libtw_bots_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tw_bots_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
