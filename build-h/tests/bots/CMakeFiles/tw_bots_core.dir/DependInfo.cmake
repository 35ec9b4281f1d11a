
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/tests/bots/auth.c" "tests/bots/CMakeFiles/tw_bots_core.dir/auth.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/auth.c.o.d"
  "/work/wt-base/tests/bots/behavior.c" "tests/bots/CMakeFiles/tw_bots_core.dir/behavior.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/behavior.c.o.d"
  "/work/wt-base/tests/bots/delay.c" "tests/bots/CMakeFiles/tw_bots_core.dir/delay.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/delay.c.o.d"
  "/work/wt-base/tests/bots/hist.c" "tests/bots/CMakeFiles/tw_bots_core.dir/hist.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/hist.c.o.d"
  "/work/wt-base/tests/bots/http.c" "tests/bots/CMakeFiles/tw_bots_core.dir/http.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/http.c.o.d"
  "/work/wt-base/tests/bots/opts.c" "tests/bots/CMakeFiles/tw_bots_core.dir/opts.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/opts.c.o.d"
  "/work/wt-base/tests/bots/prom.c" "tests/bots/CMakeFiles/tw_bots_core.dir/prom.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/prom.c.o.d"
  "/work/wt-base/tests/bots/report.c" "tests/bots/CMakeFiles/tw_bots_core.dir/report.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/report.c.o.d"
  "/work/wt-base/tests/bots/swarm.c" "tests/bots/CMakeFiles/tw_bots_core.dir/swarm.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/swarm.c.o.d"
  "/work/wt-base/tests/bots/verdict.c" "tests/bots/CMakeFiles/tw_bots_core.dir/verdict.c.o" "gcc" "tests/bots/CMakeFiles/tw_bots_core.dir/verdict.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-base/build-h/CMakeFiles/tw_shared.dir/DependInfo.cmake"
  "/work/wt-base/build-h/tests/common/CMakeFiles/tw_test_common.dir/DependInfo.cmake"
  "/work/wt-base/build-h/CMakeFiles/tw_args.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
