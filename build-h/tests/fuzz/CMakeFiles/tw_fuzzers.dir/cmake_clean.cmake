file(REMOVE_RECURSE
  "../../bin/fuzz_bits"
  "../../bin/fuzz_client_msg"
  "../../bin/fuzz_map"
  "../../bin/fuzz_server_msg"
  "../../bin/fuzz_session"
  "../../bin/fuzz_token"
  "CMakeFiles/tw_fuzzers"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/tw_fuzzers.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
