# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/wasm
# Build directory: /work/wt-base/build-h/tests/wasm
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
