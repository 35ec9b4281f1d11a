
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/tests/unit/test_metrics.c" "tests/unit/CMakeFiles/test_metrics.dir/test_metrics.c.o" "gcc" "tests/unit/CMakeFiles/test_metrics.dir/test_metrics.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-base/build-h/CMakeFiles/tw_server_core.dir/DependInfo.cmake"
  "/work/wt-base/build-h/tests/common/CMakeFiles/tw_test_common.dir/DependInfo.cmake"
  "/work/wt-base/build-h/CMakeFiles/tw_shared.dir/DependInfo.cmake"
  "/work/wt-base/build-h/CMakeFiles/tw_args.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
