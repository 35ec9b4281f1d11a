# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/common
# Build directory: /work/wt-base/build-h/tests/common
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit_common]=] "/work/wt-base/build-h/bin/test_common")
set_tests_properties([=[unit_common]=] PROPERTIES  LABELS "unit" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/common/CMakeLists.txt;12;add_test;/work/wt-base/tests/common/CMakeLists.txt;0;")
