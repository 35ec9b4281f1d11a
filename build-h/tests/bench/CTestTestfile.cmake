# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/bench
# Build directory: /work/wt-base/build-h/tests/bench
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[bench_floor]=] "/work/wt-base/build-h/bin/test_floor" "/work/wt-base/build-h/bin/tickwire-floor")
set_tests_properties([=[bench_floor]=] PROPERTIES  LABELS "integration" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/bench/CMakeLists.txt;10;add_test;/work/wt-base/tests/bench/CMakeLists.txt;0;")
