{
  # Built by `npm run build:native` (cd native && node-gyp rebuild).
  # Three products from the same sequence (enter.c): the N-API addon (the agent,
  # and Node's fork path), libhearth_sandbox.so (Python's fork path, via ctypes)
  # and the hearth-enter helper executable (the cold path).
  "target_defaults": {
    "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-fno-strict-aliasing"],
    "cflags!": ["-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "hearth_native",
      "sources": ["addon.c", "enter.c", "instance.c", "plan.c", "seccomp.c"]
    },
    {
      "target_name": "hearth_sandbox",
      "type": "shared_library",
      "cflags": ["-fvisibility=default"],
      "sources": ["sandbox-lib.c", "enter.c", "instance.c", "plan.c", "seccomp.c"]
    },
    {
      "target_name": "hearth-enter",
      "type": "executable",
      "sources": ["hearth-enter.c", "enter.c", "plan.c", "seccomp.c"]
    }
  ]
}
