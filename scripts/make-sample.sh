#!/usr/bin/env bash
# Rebuilds data/sample from the installed data sets (run scripts/install-data.sh first).
# Deterministic: rerunning on the same packages gives the same files. Keep data/sample under 18 MB.
#   M6J_DATA=DIR   where install-data.sh put the npm packages (default $HOME/.m6j/data)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mvn -q -B -DskipTests package
out="$here/data/sample"
# Keep the hand-written notes; regenerate the data.
rm -rf "$out"/fashion-mnist/*.gz "$out/openclipart/png" "$out/openclipart/svg" "$out/twemoji/img" "$out/twemoji/emoji.json" "$out/brown" "$out/chinese-poetry/dist"
java -cp "m6j-cli/target/m6j.jar:m6j-cli/target/lib/*" m6j.data.SampleMaker "$out" "${M6J_DATA:-$HOME/.m6j/data}"
du -sh "$out"
