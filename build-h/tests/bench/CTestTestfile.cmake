# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/bench
# Build directory: /work/wt-base/build-h/tests/bench
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[bench_floor]=] "/work/wt-base/build-h/bin/test_floor" "/work/wt-base/build-h/bin/tickwire-floor")
set_tests_properties([=[bench_floor]=] PROPERTIES  LABELS "integration" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/bench/CMakeLists.txt;10;add_test;/work/wt-base/tests/bench/CMakeLists.txt;0;")
add_test([=[bench_codec_bytes]=] "/work/wt-base/build-h/bin/codec_bytes" "--players" "64" "--seconds" "30" "--expect-max" "5.6")
set_tests_properties([=[bench_codec_bytes]=] PROPERTIES  LABELS "unit" TIMEOUT "60" WORKING_DIRECTORY "/work/wt-base" _BACKTRACE_TRIPLES "/work/wt-base/tests/bench/CMakeLists.txt;20;add_test;/work/wt-base/tests/bench/CMakeLists.txt;0;")
