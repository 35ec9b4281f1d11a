
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/tests/common/check.c" "tests/common/CMakeFiles/tw_test_common.dir/check.c.o" "gcc" "tests/common/CMakeFiles/tw_test_common.dir/check.c.o.d"
  "/work/wt-base/tests/common/promtext.c" "tests/common/CMakeFiles/tw_test_common.dir/promtext.c.o" "gcc" "tests/common/CMakeFiles/tw_test_common.dir/promtext.c.o.d"
  "/work/wt-base/tests/common/spawn.c" "tests/common/CMakeFiles/tw_test_common.dir/spawn.c.o" "gcc" "tests/common/CMakeFiles/tw_test_common.dir/spawn.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-base/build-h/CMakeFiles/tw_args.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
