file(REMOVE_RECURSE
  "libtw_shared.a"
)
