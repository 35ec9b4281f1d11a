file(REMOVE_RECURSE
  "libtw_args.a"
)
