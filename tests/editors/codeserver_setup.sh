#!/usr/bin/env bash
# Installs what tests/test_vscode_codeserver.py needs to run the real VS Code (code-server) with our
# packaged extension and look at it through headless Chromium:
#
#   $HIPAA_LSP_TOOLS/code-server   code-server (npm), with its native modules built against /usr's Node
#   $HIPAA_LSP_TOOLS/playwright    playwright-core (npm), which drives Debian's Chromium
#   /usr/bin/chromium              Debian package `chromium` (never a browser downloaded by a test tool)
#
# HIPAA_LSP_TOOLS defaults to /opt/hipaa-lsp-tools: outside the checkout, so the slow install
# (1.5-4 minutes) is done once per machine. Idempotent: a second run checks and returns in seconds.
# Every step is bounded in time; any failure exits non-zero with a message saying what failed.
#
# Usage: bash tests/editors/codeserver_setup.sh
set -euo pipefail

TOOLS="${HIPAA_LSP_TOOLS:-/opt/hipaa-lsp-tools}"
CODE_SERVER_VERSION=4.100.3      # the last code-server release that runs on Node 20
PLAYWRIGHT_CORE_VERSION=1.65.1
RIPGREP_NPM_VERSION=1.15.11      # @vscode/ripgrep as pinned by code-server 4.100.3 (lib/vscode)
RIPGREP_ASSET_VERSION=v13.0.0-10 # the prebuilt asset that @vscode/ripgrep 1.15.11 would download
APT_TIMEOUT="${HIPAA_LSP_APT_TIMEOUT:-900}"
NPM_TIMEOUT="${HIPAA_LSP_NPM_TIMEOUT:-900}"
LOCK_TIMEOUT="${HIPAA_LSP_LOCK_TIMEOUT:-1200}"
TOTAL_TIMEOUT="${HIPAA_LSP_SETUP_TIMEOUT:-1500}"  # the whole script, lock wait excluded

APT_PACKAGES=(chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config g++ make python3)

log() { echo "codeserver_setup: $*"; }
die() { echo "codeserver_setup: ERROR: $*" >&2; exit 1; }

# Runs a command bounded in time (the whole process group is killed on time-out); its output goes
# to LOGFILE, whose tail is shown when it fails.
bounded() {
  local seconds="$1" logfile="$2" what="$3"
  shift 3
  local left=$((deadline - SECONDS))
  [ "$left" -gt 0 ] || die "no time left for $what (HIPAA_LSP_SETUP_TIMEOUT=${TOTAL_TIMEOUT}s)"
  [ "$seconds" -le "$left" ] || seconds="$left"
  local rc=0
  timeout --kill-after=30 "$seconds" "$@" >"$logfile" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "---- last lines of $logfile ----" >&2
    tail -n 40 "$logfile" >&2 || true
    echo "--------" >&2
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      die "$what timed out after ${seconds}s (full log: $logfile)"
    fi
    die "$what failed with exit code $rc (full log: $logfile)"
  fi
}

command -v node >/dev/null 2>&1 || die "node is not installed (code-server $CODE_SERVER_VERSION needs Node 20)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" = 20 ] || die "code-server $CODE_SERVER_VERSION needs Node 20, found $(node --version)"
[ -f /usr/include/node/node.h ] || die "Node headers not found in /usr/include/node (npm_config_nodedir=/usr needs them)"
case "$(uname -m)" in
  x86_64) RG_TARGET=x86_64-unknown-linux-musl ;;
  aarch64) RG_TARGET=aarch64-unknown-linux-musl ;;
  *) die "unsupported machine $(uname -m) (only x86_64 and aarch64 are handled)" ;;
esac

mkdir -p "$TOOLS" || die "cannot create $TOOLS"
LOGDIR="$TOOLS/logs"
mkdir -p "$LOGDIR"

# One install at a time (CI and a developer, or two shells).
exec 9>"$TOOLS/.setup.lock"
flock -w "$LOCK_TIMEOUT" 9 || die "another codeserver_setup.sh still holds $TOOLS/.setup.lock after ${LOCK_TIMEOUT}s"

start=$SECONDS
deadline=$((SECONDS + TOTAL_TIMEOUT))
trap 'rm -rf "$TOOLS/.tmp"' EXIT

# ---- Debian packages ---------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "Debian packages missing (${missing[*]}) and apt-get is not available"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  bounded "$APT_TIMEOUT" "$LOGDIR/apt-update.log" "apt-get update" apt-get update -qq
  bounded "$APT_TIMEOUT" "$LOGDIR/apt-install.log" "apt-get install ${missing[*]}" \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "Debian packages already installed"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after installing the Debian package chromium"
command -v rg >/dev/null 2>&1 || die "rg is missing after installing the Debian package ripgrep"

# ---- code-server --------------------------------------------------------------------------------
CS_DIR="$TOOLS/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_MARK="$CS_DIR/.installed"
if [ -f "$CS_MARK" ] && [ "$(cat "$CS_MARK")" = "$CODE_SERVER_VERSION" ] && [ -x "$CS_BIN" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $CS_DIR"
else
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (takes a few minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # @vscode/ripgrep downloads rg from GitHub in its postinstall unless it finds the asset in its
  # cache folder under TMPDIR: give it Debian's rg there, in a TMPDIR of our own.
  install_tmp="$TOOLS/.tmp"
  rm -rf "$install_tmp"
  rg_cache="$install_tmp/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION"
  mkdir -p "$rg_cache/stage"
  cp "$(command -v rg)" "$rg_cache/stage/rg"
  tar -czf "$rg_cache/ripgrep-$RIPGREP_ASSET_VERSION-$RG_TARGET.tar.gz" -C "$rg_cache/stage" rg
  echo '{"name":"hipaa-lsp-code-server","private":true}' >"$CS_DIR/package.json"
  bounded "$NPM_TIMEOUT" "$LOGDIR/code-server-install.log" "npm install code-server@$CODE_SERVER_VERSION" \
    env TMPDIR="$install_tmp" npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm install --prefix "$CS_DIR" --no-audit --no-fund --no-update-notifier --foreground-scripts \
    "code-server@$CODE_SERVER_VERSION"
  rm -rf "$install_tmp"
  [ -x "$CS_BIN" ] || die "npm finished but $CS_BIN is missing (see $LOGDIR/code-server-install.log)"
  [ -x "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    || die "code-server installed without ripgrep (see $LOGDIR/code-server-install.log)"
  echo "$CODE_SERVER_VERSION" >"$CS_MARK"
fi
# code-server writes a default config (with a password) to ~/.config on any start: keep it in a
# throw-away home.
check_home="$(mktemp -d)"
cs_version="$(HOME="$check_home" XDG_CONFIG_HOME="$check_home/.config" XDG_DATA_HOME="$check_home/.local/share" \
  timeout 60 "$CS_BIN" --version 2>&1)" || { rm -rf "$check_home"; die "code-server does not run: $cs_version (delete $CS_DIR and run this script again)"; }
rm -rf "$check_home"
cs_version="$(printf '%s\n' "$cs_version" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)"
case "$cs_version" in
  "$CODE_SERVER_VERSION"*) ;;
  *) die "unexpected code-server version '$cs_version' in $CS_DIR (delete it and run this script again)" ;;
esac

# ---- playwright-core ----------------------------------------------------------------------------
PW_DIR="$TOOLS/playwright"
PW_MARK="$PW_DIR/.installed"
if [ -f "$PW_MARK" ] && [ "$(cat "$PW_MARK")" = "$PLAYWRIGHT_CORE_VERSION" ] \
  && [ -f "$PW_DIR/node_modules/playwright-core/package.json" ]; then
  log "playwright-core $PLAYWRIGHT_CORE_VERSION already installed in $PW_DIR"
else
  log "installing playwright-core $PLAYWRIGHT_CORE_VERSION into $PW_DIR"
  rm -rf "$PW_DIR"
  mkdir -p "$PW_DIR"
  echo '{"name":"hipaa-lsp-playwright","private":true}' >"$PW_DIR/package.json"
  # playwright-core downloads no browser; the variable makes sure of it.
  bounded "$NPM_TIMEOUT" "$LOGDIR/playwright-install.log" "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION" \
    env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm install --prefix "$PW_DIR" --no-audit --no-fund --no-update-notifier "playwright-core@$PLAYWRIGHT_CORE_VERSION"
  echo "$PLAYWRIGHT_CORE_VERSION" >"$PW_MARK"
fi
timeout 60 node -e 'const p = require(process.argv[1]); if (!p.chromium) process.exit(1);' \
  "$PW_DIR/node_modules/playwright-core" || die "playwright-core in $PW_DIR does not load"

chromium_version="$(timeout 60 /usr/bin/chromium --version 2>/dev/null | head -n 1)" || die "/usr/bin/chromium --version failed"
log "ready in $((SECONDS - start))s: code-server $cs_version | playwright-core $PLAYWRIGHT_CORE_VERSION | $chromium_version"
