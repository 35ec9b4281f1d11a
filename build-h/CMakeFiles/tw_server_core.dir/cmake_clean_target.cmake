file(REMOVE_RECURSE
  "libtw_server_core.a"
)
