file(REMOVE_RECURSE
  "CMakeFiles/tw_version"
  "generated/tw_version.h"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/tw_version.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
