#!/usr/bin/env bash
# Installs what is missing, builds in Release, and starts attex-server on
# 127.0.0.1:50051 with the embedded SQLite store and demo data, and the
# OpenRTB 2.6 endpoint on 127.0.0.1:8080 (docs/openrtb.md).
#   ./deploy/quickstart.sh               # foreground; Ctrl-C drains and stops
#   DATA_DIR=/tmp/attex ./deploy/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh

BUILD_DIR="${BUILD_DIR:-build}"
DATA_DIR="${DATA_DIR:-./attex-data}"
LISTEN="${LISTEN:-127.0.0.1:50051}"
OPENRTB_LISTEN="${OPENRTB_LISTEN:-127.0.0.1:8080}"
attex_install_deps
attex_build "$BUILD_DIR"

BIN="$(cd "$BUILD_DIR/bin" && pwd)"
cat <<MSG

attex is built. Starting attex-server on $LISTEN with demo data in $DATA_DIR.
In another terminal, send a first bid:

  export PATH="$BIN:\$PATH" ATTEX_ADDR=$LISTEN
  export ATTEX_TOKEN=\$(sed -E 's/.*"platform": "([^"]+)".*/\1/' $DATA_DIR/demo-tokens.json)
  attex bid --user_id u1 --feature interest:running --country US --slot top:banner:0

The README walks on from there: a campaign of your own, an impression, spend.
OpenRTB 2.6 platforms post to http://$OPENRTB_LISTEN/openrtb2/bid (docs/openrtb.md).
Stop the server with Ctrl-C (it drains calls in flight, then exits).

MSG
exec "$BIN/attex-server" --listen "$LISTEN" --data_dir "$DATA_DIR" --demo \
  --openrtb_listen "$OPENRTB_LISTEN"
