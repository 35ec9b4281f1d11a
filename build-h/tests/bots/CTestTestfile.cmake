# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/bots
# Build directory: /work/wt-base/build-h/tests/bots
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[bots_unit]=] "/work/wt-base/build-h/bin/test_bots_unit")
set_tests_properties([=[bots_unit]=] PROPERTIES  LABELS "unit;bots" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/bots/CMakeLists.txt;15;add_test;/work/wt-base/tests/bots/CMakeLists.txt;0;")
add_test([=[bots_e2e]=] "/usr/bin/node" "/work/wt-base/tests/bots/test_bots.mjs" "--case" "e2e" "--server" "/work/wt-base/build-h/bin/tickwire-server" "--bots-bin" "/work/wt-base/build-h/bin/tickwire-bots" "--out" "/work/wt-base/build-h/tests/bots/bots_e2e")
set_tests_properties([=[bots_e2e]=] PROPERTIES  LABELS "integration;bots" PROCESSORS "2" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/bots/CMakeLists.txt;20;add_test;/work/wt-base/tests/bots/CMakeLists.txt;0;")
add_test([=[bots_resume_soak]=] "/usr/bin/node" "/work/wt-base/tests/bots/test_bots.mjs" "--case" "resume" "--server" "/work/wt-base/build-h/bin/tickwire-server" "--bots-bin" "/work/wt-base/build-h/bin/tickwire-bots" "--out" "/work/wt-base/build-h/tests/bots/bots_resume_soak")
set_tests_properties([=[bots_resume_soak]=] PROPERTIES  LABELS "integration;bots" PROCESSORS "2" TIMEOUT "240" _BACKTRACE_TRIPLES "/work/wt-base/tests/bots/CMakeLists.txt;29;add_test;/work/wt-base/tests/bots/CMakeLists.txt;0;")
