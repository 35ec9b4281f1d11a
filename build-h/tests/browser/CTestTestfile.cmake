# CMake generated Testfile for 
# Source directory: /work/wt-base/tests/browser
# Build directory: /work/wt-base/build-h/tests/browser
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
