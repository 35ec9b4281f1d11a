# CMake generated Testfile for 
# Source directory: /work/wt-base
# Build directory: /work/wt-base/build-h
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("tests")
