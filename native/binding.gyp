{
  # Built by `npm run build:native` (cd native && node-gyp rebuild).
  # Two products from the same sequence (enter.c): the N-API addon for the fork
  # path and the hearth-enter helper executable for the cold path.
  "target_defaults": {
    "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-fno-strict-aliasing"],
    "cflags!": ["-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "hearth_native",
      "sources": ["addon.c", "enter.c", "plan.c", "seccomp.c"]
    },
    {
      "target_name": "hearth-enter",
      "type": "executable",
      "sources": ["hearth-enter.c", "enter.c", "plan.c", "seccomp.c"]
    }
  ]
}
