file(REMOVE_RECURSE
  "libtw_test_common.a"
)
