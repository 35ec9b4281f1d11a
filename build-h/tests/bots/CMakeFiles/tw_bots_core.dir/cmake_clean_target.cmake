file(REMOVE_RECURSE
  "libtw_bots_core.a"
)
