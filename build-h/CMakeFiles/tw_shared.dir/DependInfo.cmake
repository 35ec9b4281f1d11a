
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/shared/bits.c" "CMakeFiles/tw_shared.dir/shared/bits.c.o" "gcc" "CMakeFiles/tw_shared.dir/shared/bits.c.o.d"
  "/work/wt-base/shared/client.c" "CMakeFiles/tw_shared.dir/shared/client.c.o" "gcc" "CMakeFiles/tw_shared.dir/shared/client.c.o.d"
  "/work/wt-base/shared/proto.c" "CMakeFiles/tw_shared.dir/shared/proto.c.o" "gcc" "CMakeFiles/tw_shared.dir/shared/proto.c.o.d"
  "/work/wt-base/shared/sim.c" "CMakeFiles/tw_shared.dir/shared/sim.c.o" "gcc" "CMakeFiles/tw_shared.dir/shared/sim.c.o.d"
  "/work/wt-base/shared/token.c" "CMakeFiles/tw_shared.dir/shared/token.c.o" "gcc" "CMakeFiles/tw_shared.dir/shared/token.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
