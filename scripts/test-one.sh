#!/usr/bin/env bash
# Runs the named test classes (or methods, surefire's -Dtest syntax) once, in whichever module holds them:
#   scripts/test-one.sh OpenAiSdkTest            scripts/test-one.sh 'ChatTemplateTest,PlanTest#sizes'
# (`mvn test -Dtest=X` would run X in each of the module's three test JVMs; see pom.xml, surefire.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 1 ]] || { echo "usage: scripts/test-one.sh TEST[,TEST...] [mvn options]" >&2; exit 2; }
tests="$1"; shift
exec mvn -B -o -pl m6j-core,m6j-train,m6j-serve,m6j-cli,m6j-langchain4j test-compile \
  org.apache.maven.plugins:maven-surefire-plugin:3.5.2:test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false "$@"
