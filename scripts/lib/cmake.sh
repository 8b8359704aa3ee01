# shellcheck shell=bash
# CMake helpers shared by the scripts in scripts/. Run from the repository
# root (presets are read from the current directory).

# ws_configure <preset> [cmake arguments...]: configures a preset tree, with
# ccache as the compiler launcher when it is installed (presets cannot test
# for it).
ws_configure() {
  local preset=$1
  shift
  local args=(--preset "$preset")
  if command -v ccache >/dev/null 2>&1; then
    args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake "${args[@]}" "$@"
}

# ws_build_release: configures and builds build/release (executables in
# build/release/bin).
ws_build_release() {
  ws_configure release && cmake --build --preset release
}
