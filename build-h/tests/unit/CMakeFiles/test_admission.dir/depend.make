# Empty dependencies file for test_admission.
# This may be replaced when dependencies are built.
