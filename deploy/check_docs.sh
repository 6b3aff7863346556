#!/usr/bin/env bash
# Checks the documentation against the repository, offline:
#   - every relative markdown link in README.md, CONTRIBUTING.md and docs/*.md
#     names a file of the repository (and a heading of it, for FILE#anchor);
#   - every path in backticks that looks like a repository path (`deploy/x.sh`,
#     `docs/y.md`, `server/`) exists; paths that git ignores (build*/,
#     attex-data/), absolute paths and ../ paths are not repository paths;
#   - README.md is under 300 lines;
#   - given a build dir, every --flag named in the docs of FLAG_DOCS appears
#     in `attex-server --helpfull`, `attex-load --help` or the help of `attex`
#     and its subcommands.
# Prints one line per problem (file:line: what is missing) and exits 1 if any.
#   deploy/check_docs.sh            # links, paths, README length
#   deploy/check_docs.sh build      # and the flags, against build/bin/
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${1:-}"
README_MAX_LINES=300
FLAG_DOCS=(docs/operations.md docs/money.md docs/security.md)
DOCS=(README.md CONTRIBUTING.md docs/*.md)
problems=0

if [ -n "$BUILD_DIR" ]; then
  for bin in attex-server attex-load attex; do
    if [ ! -x "$BUILD_DIR/bin/$bin" ]; then
      echo "check_docs: no $BUILD_DIR/bin/$bin: build it (cmake --build $BUILD_DIR --target attex-server attex-load attex) or leave out the build dir" >&2
      exit 2
    fi
  done
fi

problem() {
  echo "check_docs: $1" >&2
  problems=$((problems + 1))
}

# Lines outside fenced code blocks, as "LINE<TAB>TEXT".
prose() {
  awk '/^[[:space:]]*(```|~~~)/ { fenced = !fenced; next }
       !fenced { printf "%d\t%s\n", NR, $0 }' "$1"
}

# GitHub's anchors of a file's headings, one a line.
anchors() {
  prose "$1" | cut -f2- | awk '
    /^#+ / {
      h = $0
      sub(/^#+ +/, "", h)
      h = tolower(h)
      gsub(/[^a-z0-9 _-]/, "", h)
      gsub(/ /, "-", h)
      if (h in seen) { n = seen[h]; seen[h] = n + 1; h = h "-" n } else seen[h] = 1
      print h
    }'
}

# "LINE<TAB>TARGET" for each markdown link or image outside code.
links() {
  prose "$1" | awk -F'\t' '{
    s = $0
    sub(/^[0-9]+\t/, "", s)
    gsub(/`[^`]*`/, "", s)
    while (match(s, /\]\([^)]*\)/)) {
      t = substr(s, RSTART + 2, RLENGTH - 3)
      sub(/[[:space:]].*/, "", t)   # drop a "title"
      print $1 "\t" t
      s = substr(s, RSTART + RLENGTH)
    }
  }'
}

# "LINE<TAB>WORD" for each word inside inline code, outside fenced blocks.
code_words() {
  prose "$1" | awk -F'\t' '{
    s = $0
    sub(/^[0-9]+\t/, "", s)
    while (match(s, /`[^`]+`/)) {
      n = split(substr(s, RSTART + 1, RLENGTH - 2), w, /[[:space:]]+/)
      for (i = 1; i <= n; i++) if (w[i] != "") print $1 "\t" w[i]
      s = substr(s, RSTART + RLENGTH)
    }
  }'
}

in_git=0
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then in_git=1; fi

# A repository path, or empty if WORD does not look like one.
repo_path() {
  local w="$1"
  w="${w##*=}"                              # --json=docs/x.json, VAR=deploy/y.sh
  w="${w#[\"\'(]}"
  w="${w%[\"\'),.;:]}"
  case "$w" in
    /* | \~* | ../* | .. | http:* | https:* | *'$'* | *'<'* | *'>'* | *'*'* | *'{'* | *'['* | *'|'* | *\\*) return 0 ;;
  esac
  w="${w#./}"
  [[ "$w" == */* ]] || return 0
  [[ "$w" =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$ ]] || return 0
  # A folder (trailing slash) or a file with an extension; not Exchange/Bid.
  [[ "$w" == */ || "${w##*/}" =~ \.[A-Za-z][A-Za-z0-9]*$ ]] || return 0
  case "${w%%/*}" in build | build-*) return 0 ;; esac
  if [ "$in_git" = 1 ] && git check-ignore -q -- "$w" 2>/dev/null; then return 0; fi
  echo "$w"
}

for doc in "${DOCS[@]}"; do
  [ -f "$doc" ] || { problem "$doc: missing"; continue; }
  dir="$(dirname "$doc")"

  while IFS=$'\t' read -r line target; do
    case "$target" in
      '' | http:* | https:* | mailto:*) continue ;;
    esac
    file="${target%%#*}"
    anchor=""
    [[ "$target" == *'#'* ]] && anchor="${target#*#}"
    if [ -z "$file" ]; then
      path="$doc"
    else
      path="$dir/$file"
      if [ ! -e "$path" ]; then
        problem "$doc:$line: link to '$target': no file $path"
        continue
      fi
    fi
    if [ -n "$anchor" ]; then
      if [[ "$path" != *.md ]] || ! anchors "$path" | grep -qxF -- "$anchor"; then
        problem "$doc:$line: link to '$target': no heading '#$anchor' in $path"
      fi
    fi
  done < <(links "$doc")

  while IFS=$'\t' read -r line word; do
    path="$(repo_path "$word")"
    [ -n "$path" ] || continue
    [ -e "$path" ] || problem "$doc:$line: \`$word\`: no such file or folder in the repository"
  done < <(code_words "$doc")
done

lines=$(wc -l < README.md)
if [ "$lines" -ge "$README_MAX_LINES" ]; then
  problem "README.md: $lines lines; keep it under $README_MAX_LINES (move detail to docs/)"
fi

# The help of the attex client and of its subcommands, two levels deep.
client_help() {
  local bin="$1" out sub
  shift
  out="$(timeout 30 "$bin" "$@" --help 2>&1 || true)"
  echo "$out"
  [ $# -lt 2 ] || return 0
  for sub in $(awk '/^Subcommands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' <<<"$out"); do
    client_help "$bin" "$@" "$sub"
  done
}

if [ -n "$BUILD_DIR" ]; then
  server="$BUILD_DIR/bin/attex-server"
  load="$BUILD_DIR/bin/attex-load"
  client="$BUILD_DIR/bin/attex"
  # abseil's --help lists only the flags of a file named after the binary;
  # --helpfull lists them all. Both exit non-zero.
  known="$( { timeout 30 "$server" --helpfull 2>&1 || true
              timeout 30 "$server" --help 2>&1 || true
              timeout 30 "$load" --help 2>&1 || true
              client_help "$client"; } |
            grep -oE -- '--[a-z][a-z0-9_]*' | sort -u)"
  # abseil's own usage flags, which --helpfull does not list.
  known+=$'\n'"$(printf -- '--%s\n' help helpfull helpshort helppackage helpon helpmatch version only_check_args)"
  for doc in "${FLAG_DOCS[@]}"; do
    [ -f "$doc" ] || continue
    while IFS=: read -r line flag; do
      grep -qxF -- "$flag" <<<"$known" ||
        problem "$doc:$line: $flag is not a flag of attex-server, attex-load or attex (see their --help)"
    done < <(grep -noE -- '(^|[^A-Za-z0-9_-])--[a-z][a-z0-9_]*' "$doc" |
             sed -E 's/^([0-9]+):.*(--[a-z][a-z0-9_]*)$/\1:\2/' | sort -t: -k2 -u)
  done
fi

if [ "$problems" -gt 0 ]; then
  echo "check_docs: $problems problem(s)" >&2
  exit 1
fi
echo "check_docs: README.md ($lines lines), CONTRIBUTING.md and docs/ are consistent with the repository${BUILD_DIR:+ and $BUILD_DIR/bin}"
