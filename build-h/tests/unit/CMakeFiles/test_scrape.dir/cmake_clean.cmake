file(REMOVE_RECURSE
  "../../bin/test_scrape"
  "../../bin/test_scrape.pdb"
  "CMakeFiles/test_scrape.dir/test_scrape.c.o"
  "CMakeFiles/test_scrape.dir/test_scrape.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_scrape.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
