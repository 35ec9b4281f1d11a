
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-base/server/map.c" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/__/__/server/map.c.o" "gcc" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/__/__/server/map.c.o.d"
  "/work/wt-base/server/match.c" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/__/__/server/match.c.o" "gcc" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/__/__/server/match.c.o.d"
  "/work/wt-base/tests/fuzz/gen_corpus.c" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/gen_corpus.c.o" "gcc" "tests/fuzz/CMakeFiles/fuzz_gen_corpus.dir/gen_corpus.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-base/build-h/CMakeFiles/tw_shared.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
