file(REMOVE_RECURSE
  "../../bin/codec_bytes"
  "../../bin/codec_bytes.pdb"
  "CMakeFiles/codec_bytes.dir/codec_bytes.c.o"
  "CMakeFiles/codec_bytes.dir/codec_bytes.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/codec_bytes.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
