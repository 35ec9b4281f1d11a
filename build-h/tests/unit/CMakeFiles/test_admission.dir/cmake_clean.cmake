file(REMOVE_RECURSE
  "../../bin/test_admission"
  "../../bin/test_admission.pdb"
  "CMakeFiles/test_admission.dir/test_admission.c.o"
  "CMakeFiles/test_admission.dir/test_admission.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_admission.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
