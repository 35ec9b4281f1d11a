# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/fuzz
# Build directory: /work/wt-base/build-h/tests/fuzz
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[fuzz_client_msg]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_client_msg" "/work/wt-base/tests/fuzz/corpus/fuzz_client_msg" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_client_msg")
set_tests_properties([=[fuzz_client_msg]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
add_test([=[fuzz_session]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_session" "/work/wt-base/tests/fuzz/corpus/fuzz_session" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_session")
set_tests_properties([=[fuzz_session]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
add_test([=[fuzz_server_msg]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_server_msg" "/work/wt-base/tests/fuzz/corpus/fuzz_server_msg" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_server_msg")
set_tests_properties([=[fuzz_server_msg]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
add_test([=[fuzz_bits]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_bits" "/work/wt-base/tests/fuzz/corpus/fuzz_bits" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_bits")
set_tests_properties([=[fuzz_bits]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
add_test([=[fuzz_map]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_map" "/work/wt-base/tests/fuzz/corpus/fuzz_map" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_map")
set_tests_properties([=[fuzz_map]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
add_test([=[fuzz_token]=] "sh" "/work/wt-base/tests/fuzz/smoke.sh" "/work/wt-base/build-h/bin/fuzz_token" "/work/wt-base/tests/fuzz/corpus/fuzz_token" "10" "/work/wt-base/build-h/fuzz/smoke-artifacts/fuzz_token")
set_tests_properties([=[fuzz_token]=] PROPERTIES  LABELS "fuzz" RUN_SERIAL "TRUE" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/wt-base/tests/fuzz/CMakeLists.txt;74;add_test;/work/wt-base/tests/fuzz/CMakeLists.txt;0;")
