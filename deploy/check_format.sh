#!/usr/bin/env bash
# Fails when a C++ file of the repository is not as clang-format (Debian's,
# .clang-format: Google style, 100 columns) would write it, naming each file.
#   ./deploy/check_format.sh          # check
#   ./deploy/check_format.sh --fix    # rewrite the files in place
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format is not installed (Debian package clang-format)" >&2
  exit 2
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' | sort -u)
else
  mapfile -t files < <(find . -path './build*' -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
# Files deleted in the work tree but still in the index are not checked.
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${existing[@]}"
  echo "check_format: formatted ${#existing[@]} files"
  exit 0
fi
bad=()
for f in "${existing[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ ${#bad[@]} -ne 0 ]; then
  printf 'check_format: not clang-formatted: %s\n' "${bad[@]}" >&2
  echo "check_format: run ./deploy/check_format.sh --fix (or clang-format -i FILE)" >&2
  exit 1
fi
echo "check_format: ${#existing[@]} C++ files are clang-formatted"
