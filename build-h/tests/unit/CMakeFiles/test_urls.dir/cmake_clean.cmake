file(REMOVE_RECURSE
  "../../bin/test_urls"
  "../../bin/test_urls.pdb"
  "CMakeFiles/test_urls.dir/test_urls.c.o"
  "CMakeFiles/test_urls.dir/test_urls.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_urls.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
