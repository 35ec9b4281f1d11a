
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/server/admission.c" "CMakeFiles/tw_server_core.dir/server/admission.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/admission.c.o.d"
  "/work/wt-base/server/cli.c" "CMakeFiles/tw_server_core.dir/server/cli.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/cli.c.o.d"
  "/work/wt-base/server/core.c" "CMakeFiles/tw_server_core.dir/server/core.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/core.c.o.d"
  "/work/wt-base/server/handshake.c" "CMakeFiles/tw_server_core.dir/server/handshake.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/handshake.c.o.d"
  "/work/wt-base/server/http.c" "CMakeFiles/tw_server_core.dir/server/http.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/http.c.o.d"
  "/work/wt-base/server/lobby.c" "CMakeFiles/tw_server_core.dir/server/lobby.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/lobby.c.o.d"
  "/work/wt-base/server/log.c" "CMakeFiles/tw_server_core.dir/server/log.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/log.c.o.d"
  "/work/wt-base/server/map.c" "CMakeFiles/tw_server_core.dir/server/map.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/map.c.o.d"
  "/work/wt-base/server/match.c" "CMakeFiles/tw_server_core.dir/server/match.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/match.c.o.d"
  "/work/wt-base/server/metrics.c" "CMakeFiles/tw_server_core.dir/server/metrics.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/metrics.c.o.d"
  "/work/wt-base/server/net.c" "CMakeFiles/tw_server_core.dir/server/net.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/net.c.o.d"
  "/work/wt-base/server/replay.c" "CMakeFiles/tw_server_core.dir/server/replay.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/replay.c.o.d"
  "/work/wt-base/server/results.c" "CMakeFiles/tw_server_core.dir/server/results.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/results.c.o.d"
  "/work/wt-base/server/results_db.c" "CMakeFiles/tw_server_core.dir/server/results_db.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/results_db.c.o.d"
  "/work/wt-base/server/scrape.c" "CMakeFiles/tw_server_core.dir/server/scrape.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/scrape.c.o.d"
  "/work/wt-base/server/session.c" "CMakeFiles/tw_server_core.dir/server/session.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/session.c.o.d"
  "/work/wt-base/server/tick_clock.c" "CMakeFiles/tw_server_core.dir/server/tick_clock.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/tick_clock.c.o.d"
  "/work/wt-base/server/tls.c" "CMakeFiles/tw_server_core.dir/server/tls.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/tls.c.o.d"
  "/work/wt-base/server/urls.c" "CMakeFiles/tw_server_core.dir/server/urls.c.o" "gcc" "CMakeFiles/tw_server_core.dir/server/urls.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-base/build-h/CMakeFiles/tw_shared.dir/DependInfo.cmake"
  "/work/wt-base/build-h/CMakeFiles/tw_args.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
