# CMake generated Testfile for 
# Source directory: /work/wt-base/tests
# Build directory: /work/wt-base/build-h/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[integration_adversarial]=] "/work/wt-base/build-h/bin/test_server" "/work/wt-base/build-h/bin/tickwire-server" "adversarial")
set_tests_properties([=[integration_adversarial]=] PROPERTIES  ENVIRONMENT "TICKWIRE_BOTS=/work/wt-base/build-h/bin/tickwire-bots" LABELS "integration" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/CMakeLists.txt;29;add_test;/work/wt-base/tests/CMakeLists.txt;0;")
add_test([=[integration_stall]=] "/work/wt-base/build-h/bin/test_server" "/work/wt-base/build-h/bin/tickwire-server" "stall")
set_tests_properties([=[integration_stall]=] PROPERTIES  ENVIRONMENT "TICKWIRE_BOTS=/work/wt-base/build-h/bin/tickwire-bots" LABELS "integration" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/CMakeLists.txt;33;add_test;/work/wt-base/tests/CMakeLists.txt;0;")
add_test([=[integration_latency]=] "/work/wt-base/build-h/bin/test_server" "/work/wt-base/build-h/bin/tickwire-server" "latency")
set_tests_properties([=[integration_latency]=] PROPERTIES  ENVIRONMENT "TICKWIRE_BOTS=/work/wt-base/build-h/bin/tickwire-bots" LABELS "integration" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/CMakeLists.txt;37;add_test;/work/wt-base/tests/CMakeLists.txt;0;")
add_test([=[integration_fight]=] "/work/wt-base/build-h/bin/test_server" "/work/wt-base/build-h/bin/tickwire-server" "fight")
set_tests_properties([=[integration_fight]=] PROPERTIES  ENVIRONMENT "TICKWIRE_BOTS=/work/wt-base/build-h/bin/tickwire-bots" LABELS "integration" TIMEOUT "60" _BACKTRACE_TRIPLES "/work/wt-base/tests/CMakeLists.txt;41;add_test;/work/wt-base/tests/CMakeLists.txt;0;")
subdirs("common")
subdirs("unit")
subdirs("wasm")
subdirs("integration")
subdirs("browser")
subdirs("bots")
subdirs("bench")
subdirs("fuzz")
