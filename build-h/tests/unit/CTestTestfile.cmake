# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/unit
# Build directory: /work/wt-base/build-h/tests/unit
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit_bits]=] "/work/wt-base/build-h/bin/test_bits")
set_tests_properties([=[unit_bits]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_proto]=] "/work/wt-base/build-h/bin/test_proto")
set_tests_properties([=[unit_proto]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_sim]=] "/work/wt-base/build-h/bin/test_sim")
set_tests_properties([=[unit_sim]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_client]=] "/work/wt-base/build-h/bin/test_client")
set_tests_properties([=[unit_client]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_token]=] "/work/wt-base/build-h/bin/test_token")
set_tests_properties([=[unit_token]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_replay]=] "/work/wt-base/build-h/bin/test_replay")
set_tests_properties([=[unit_replay]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;13;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_match]=] "/work/wt-base/build-h/bin/test_match")
set_tests_properties([=[unit_match]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_session]=] "/work/wt-base/build-h/bin/test_session")
set_tests_properties([=[unit_session]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_lobby]=] "/work/wt-base/build-h/bin/test_lobby")
set_tests_properties([=[unit_lobby]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_admission]=] "/work/wt-base/build-h/bin/test_admission")
set_tests_properties([=[unit_admission]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_metrics]=] "/work/wt-base/build-h/bin/test_metrics")
set_tests_properties([=[unit_metrics]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_core]=] "/work/wt-base/build-h/bin/test_core")
set_tests_properties([=[unit_core]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_handshake]=] "/work/wt-base/build-h/bin/test_handshake")
set_tests_properties([=[unit_handshake]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
add_test([=[unit_results]=] "/work/wt-base/build-h/bin/test_results")
set_tests_properties([=[unit_results]=] PROPERTIES  LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/wt-base/tests/unit/CMakeLists.txt;22;add_test;/work/wt-base/tests/unit/CMakeLists.txt;0;")
